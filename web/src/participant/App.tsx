/** The participant pages: the page for the address, in the webcast's language the browser
 * prefers, with a language switcher. */
import { useEffect, useId, useMemo, useState, type SyntheticEvent, type ReactNode } from "react";

import type { Api } from "../api/client";
import { restoreViewerSession } from "../api/session";
import { Page, type PublicWebcast, textsFor, usePage } from "./context";
import { DesignedPage, localised, type PublishedDesign } from "./Designed";
import { LOCALES, type Locale, MESSAGES, pageLocales, pickLocale } from "./i18n";
import { PrivacyPage } from "./PrivacyPage";
import { linkSecrets, type Route, withoutSecrets } from "./routes";

type Loaded<T> = { readonly state: "loading" } | { readonly state: "missing" } | { readonly state: "failed" } | { readonly state: "ready"; readonly value: T };

/** The id of the webcast a readable address names. */
function useAddress(api: Api, route: Route): Loaded<string> {
  const [found, setFound] = useState<Loaded<string>>({ state: "loading" });
  const tenantSlug = route.page === "address" ? route.tenantSlug : null;
  const webcastSlug = route.page === "address" ? route.webcastSlug : null;
  useEffect(() => {
    if (tenantSlug === null || webcastSlug === null) {
      return;
    }
    void api.client
      .GET("/api/p/{tenant_slug}/{webcast_slug}", { params: { path: { tenant_slug: tenantSlug, webcast_slug: webcastSlug } } })
      .then(({ data }) => {
        setFound(data ? { state: "ready", value: data.webcast_id } : { state: "missing" });
      })
      .catch(() => {
        setFound({ state: "failed" });
      });
  }, [api, tenantSlug, webcastSlug]);
  return found;
}

function useWebcast(api: Api, webcastId: string | null): Loaded<PublicWebcast> {
  const [loaded, setLoaded] = useState<Loaded<PublicWebcast>>({ state: "loading" });
  useEffect(() => {
    if (webcastId === null) {
      return;
    }
    void api.client
      .GET("/api/w/{webcast_id}", { params: { path: { webcast_id: webcastId } } })
      .then(({ data, response }) => {
        if (data !== undefined) {
          setLoaded({ state: "ready", value: data });
        } else {
          setLoaded({ state: response.status === 404 ? "missing" : "failed" });
        }
      })
      .catch(() => {
        setLoaded({ state: "failed" });
      });
  }, [api, webcastId]);
  return loaded;
}

function useDesign(api: Api, webcastId: string | null): PublishedDesign | null | "failed" {
  const [design, setDesign] = useState<PublishedDesign | null | "failed">(null);
  useEffect(() => {
    if (webcastId === null) {
      return;
    }
    void api.client
      .GET("/api/w/{webcast_id}/design", { params: { path: { webcast_id: webcastId } } })
      .then(({ data }) => {
        setDesign(data ?? "failed");
      })
      .catch(() => {
        setDesign("failed");
      });
  }, [api, webcastId]);
  return design;
}

function LanguageSwitch(props: { readonly available: readonly Locale[]; readonly locale: Locale; readonly onChange: (locale: Locale) => void }) {
  const { texts } = usePage();
  const id = useId().replace(/:/g, "");
  if (props.available.length < 2) {
    return null;
  }
  return (
    <div className="language">
      <label htmlFor={`${id}-language`}>{texts.t("language")}</label>{" "}
      <select
        id={`${id}-language`}
        value={props.locale}
        onChange={(event) => {
          const chosen = LOCALES.find((each) => each === event.target.value);
          if (chosen) {
            props.onChange(chosen);
          }
        }}
      >
        {props.available.map((each) => (
          <option key={each} value={each} lang={each}>
            {MESSAGES[each].languageName}
          </option>
        ))}
      </select>
    </div>
  );
}

function Shell(props: {
  readonly title: string;
  readonly webcastId: string | null;
  /** Whether the footer links the privacy page (not when the page's legal block does). */
  readonly privacyLink: boolean;
  readonly available: readonly Locale[];
  readonly locale: Locale;
  readonly onLocale: (locale: Locale) => void;
  /** The design's logo, with what it says in the page's language. */
  readonly logo: { readonly url: string; readonly alt: string } | null;
  readonly children: ReactNode;
}) {
  const { texts } = usePage();
  useEffect(() => {
    document.documentElement.lang = props.locale;
    document.title = props.title;
  }, [props.locale, props.title]);
  return (
    <>
      <a className="skip" href="#content">
        {texts.t("skipToContent")}
      </a>
      <header className="page-header">
        {props.logo ? <img className="logo" src={props.logo.url} alt={props.logo.alt} /> : null}
        <LanguageSwitch available={props.available} locale={props.locale} onChange={props.onLocale} />
      </header>
      <main id="content" tabIndex={-1}>
        <h1>{props.title}</h1>
        {props.children}
      </main>
      {props.webcastId !== null && props.privacyLink ? (
        <footer className="page-footer">
          <a href={`/w/${encodeURIComponent(props.webcastId)}/privacy`}>{texts.t("privacyLink")}</a>
        </footer>
      ) : null}
    </>
  );
}

type Standing = { readonly state: "checking" } | { readonly state: "outside"; readonly linkFailed: boolean } | { readonly state: "granted" };

/** The session after a reload, or the one a mailed link or an embed token starts. */
function useStanding(api: Api, webcast: PublicWebcast | null, embedded: boolean): [Standing, (granted: boolean) => void] {
  const [standing, setStanding] = useState<Standing>({ state: "checking" });
  useEffect(() => {
    if (webcast === null) {
      return;
    }
    const secrets = linkSecrets(location.search, location.hash);
    if (secrets.token !== null) {
      history.replaceState(history.state, "", withoutSecrets(location.href) + (secrets.key ? `#key=${secrets.key}` : ""));
    }
    const start = async (): Promise<void> => {
      if (secrets.token !== null) {
        const path = { params: { path: { webcast_id: webcast.id } }, body: { token: secrets.token } };
        const { data } = embedded
          ? await api.client.POST("/api/w/{webcast_id}/embed/session", path)
          : await api.client.POST("/api/w/{webcast_id}/link", path);
        if (data !== undefined) {
          api.setCsrfToken(data.csrf_token);
          setStanding({ state: "granted" });
          return;
        }
      }
      const session = await restoreViewerSession(api, webcast.id);
      setStanding(session.granted ? { state: "granted" } : { state: "outside", linkFailed: secrets.token !== null });
    };
    start().catch(() => {
      setStanding({ state: "outside", linkFailed: secrets.token !== null });
    });
  }, [api, webcast, embedded]);
  return [
    standing,
    (granted) => {
      setStanding(granted ? { state: "granted" } : { state: "outside", linkFailed: false });
    },
  ];
}

function WebcastPage(props: { readonly api: Api; readonly webcast: PublicWebcast; readonly design: PublishedDesign; readonly embedded: boolean }) {
  const { api, webcast } = props;
  const { texts } = usePage();
  const [standing, setGranted] = useStanding(api, webcast, props.embedded);
  const internalKey = useMemo(() => linkSecrets(location.search, location.hash).key, []);
  if (standing.state === "checking") {
    return <p role="status">{texts.t("signingIn")}</p>;
  }
  return (
    <>
      {standing.state === "outside" && standing.linkFailed ? (
        <p className="status error" role="alert">
          {texts.t("linkInvalid")}
        </p>
      ) : null}
      <DesignedPage
        webcast={webcast}
        design={props.design}
        granted={standing.state === "granted"}
        internalKey={internalKey}
        onGranted={(granted) => {
          api.setCsrfToken(granted.csrfToken);
          setGranted(true);
        }}
      />
    </>
  );
}

function PasswordReset({ api, webcast }: { readonly api: Api; readonly webcast: PublicWebcast }) {
  const { texts } = usePage();
  const id = useId().replace(/:/g, "");
  const [token] = useState(() => linkSecrets(location.search, location.hash).token);
  const [value, setValue] = useState("");
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  useEffect(() => {
    if (token !== null) {
      history.replaceState(history.state, "", withoutSecrets(location.href));
    }
  }, [token]);
  const back = `/w/${encodeURIComponent(webcast.id)}`;
  const submit = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    const path = { params: { path: { webcast_id: webcast.id } } };
    if (token === null) {
      const { response } = await api.client.POST("/api/w/{webcast_id}/password-reset", { ...path, body: { login: value } });
      setStatus(response.ok ? { text: texts.t("resetSent"), error: false } : { text: response.status === 429 ? texts.t("tooMany") : texts.t("failed"), error: true });
      return;
    }
    const { response, error } = await api.client.POST("/api/w/{webcast_id}/password-reset/confirm", {
      ...path,
      body: { token, new_password: value },
    });
    if (response.ok) {
      setStatus({ text: texts.t("passwordSet"), error: false });
      return;
    }
    setStatus({ text: error?.errors?.[0]?.reason ?? texts.t("linkInvalid"), error: true });
  };
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{texts.t("resetTitle")}</h2>
      <form noValidate onSubmit={(event) => void submit(event)}>
        <div className="field">
          <label htmlFor={`${id}-value`}>{token === null ? texts.t("loginName") : texts.t("newPassword")}</label>
          <input
            id={`${id}-value`}
            name={token === null ? "login" : "new_password"}
            type={token === null ? "text" : "password"}
            autoComplete={token === null ? "username" : "new-password"}
            required
            value={value}
            onChange={(event) => {
              setValue(event.target.value);
            }}
          />
        </div>
        <button type="submit" className="primary">
          {token === null ? texts.t("resetRequest") : texts.t("setPassword")}
        </button>
        <p className={status?.error ? "status error" : "status"} role={status?.error ? "alert" : "status"}>
          {status?.text ?? ""}
        </p>
      </form>
      <p>
        <a href={back}>{texts.t("backToWebcast")}</a>
      </p>
    </section>
  );
}

export function App({ api, route }: { readonly api: Api; readonly route: Route }) {
  const address = useAddress(api, route);
  const webcastId = "webcastId" in route ? route.webcastId : address.state === "ready" ? address.value : null;
  const showsWebcast = route.page === "webcast" || route.page === "address";
  const loaded = useWebcast(api, webcastId);
  const design = useDesign(api, showsWebcast ? webcastId : null);
  const available = useMemo(
    () => (loaded.state === "ready" ? pageLocales(loaded.value.languages) : [...LOCALES]),
    [loaded],
  );
  const [chosen, setChosen] = useState<Locale | null>(null);
  const locale = chosen ?? pickLocale(available, navigator.languages);
  const texts = useMemo(() => textsFor(locale), [locale]);
  const context = useMemo(() => ({ api, texts }), [api, texts]);

  let title = texts.t("landingTitle");
  let logo: { url: string; alt: string } | null = null;
  let body: ReactNode;
  if (route.page === "landing") {
    body = <p>{texts.t("landingText")}</p>;
  } else if (route.page === "not-found" || loaded.state === "missing" || (route.page === "address" && address.state === "missing")) {
    body = <p role="alert">{texts.t("notFound")}</p>;
  } else if (loaded.state === "failed" || design === "failed" || (route.page === "address" && address.state === "failed")) {
    body = <p role="alert">{texts.t("failed")}</p>;
  } else if (loaded.state === "loading" || (showsWebcast && design === null)) {
    body = <p role="status">{texts.t("loading")}</p>;
  } else {
    const webcast = loaded.value;
    const intro = design?.blocks.find((block) => block.kind === "intro");
    title = (intro && localised(intro.texts, locale, webcast.language)?.heading) || webcast.title;
    if (showsWebcast && design?.theme.logo_url) {
      logo = { url: design.theme.logo_url, alt: localised(design.theme.logo_alt, locale, webcast.language) ?? webcast.title };
    }
    body =
      showsWebcast && design !== null ? (
        <WebcastPage api={api} webcast={webcast} design={design} embedded={route.page === "webcast" && route.embedded} />
      ) : route.page === "password-reset" ? (
        <PasswordReset api={api} webcast={webcast} />
      ) : (
        <PrivacyPage api={api} webcast={webcast} />
      );
  }
  return (
    <Page.Provider value={context}>
      <Shell
        title={title}
        webcastId={webcastId}
        privacyLink={!(showsWebcast && design !== null && design !== "failed" && design.blocks.some((block) => block.kind === "legal"))}
        available={available}
        locale={locale}
        onLocale={setChosen}
        logo={logo}
      >
        {body}
      </Shell>
    </Page.Provider>
  );
}
