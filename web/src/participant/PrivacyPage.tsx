/** The privacy page every participant mail links to: who the controller is, and with the
 * mailed token the person's own data, its download, withdrawal of consents and erasure. */
import { useEffect, useId, useState } from "react";

import type { Api } from "../api/client";
import type { components } from "../api/schema";
import { restoreViewerSession } from "../api/session";
import { type PublicWebcast, usePage } from "./context";
import { formatMoment } from "./i18n";
import { linkSecrets, withoutSecrets } from "./routes";

type OwnData = components["schemas"]["OwnData"];
type Controller = components["schemas"]["PublicController"];
type Status = { readonly text: string; readonly error: boolean } | null;
type Standing = { readonly state: "opening" } | { readonly state: "closed"; readonly linkFailed: boolean } | { readonly state: "open"; readonly data: OwnData } | { readonly state: "erased" };

function useController(api: Api, webcastId: string): Controller | null {
  const [controller, setController] = useState<Controller | null>(null);
  useEffect(() => {
    void api.client
      .GET("/api/w/{webcast_id}/controller", { params: { path: { webcast_id: webcastId } } })
      .then(({ data }) => {
        setController(data ?? null);
      })
      .catch(() => {
        setController(null);
      });
  }, [api, webcastId]);
  return controller;
}

function ControllerContact({ controller }: { readonly controller: Controller }) {
  const { texts } = usePage();
  return (
    <section aria-labelledby="controller-title">
      <h3 id="controller-title">{texts.t("controllerTitle")}</h3>
      <address className="controller">
        <strong>{controller.legal_name}</strong>
        <br />
        <span className="pre-line">{controller.postal_address}</span>
        <br />
        <a href={`mailto:${controller.contact_email}`}>{controller.contact_email}</a>
      </address>
      {controller.dpo_contact ? (
        <p>
          {texts.t("dpo")}: <span className="pre-line">{controller.dpo_contact}</span>
        </p>
      ) : null}
      <ul className="links">
        {controller.imprint_url ? (
          <li>
            <a href={controller.imprint_url}>{texts.t("imprint")}</a>
          </li>
        ) : null}
        {controller.privacy_policy_url ? (
          <li>
            <a href={controller.privacy_policy_url}>{texts.t("privacyPolicy")}</a>
          </li>
        ) : null}
      </ul>
    </section>
  );
}

function Row({ term, value }: { readonly term: string; readonly value: string }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function OwnDataSection(props: { readonly api: Api; readonly webcast: PublicWebcast; readonly data: OwnData; readonly onChanged: (standing: Standing) => void }) {
  const { api, webcast, data } = props;
  const { texts } = usePage();
  const [status, setStatus] = useState<Status>(null);
  const path = { params: { path: { webcast_id: webcast.id } } };
  const when = (iso: string): string => formatMoment(iso, texts.locale, webcast.schedule?.time_zone ?? "Europe/Amsterdam");

  const reload = async (): Promise<void> => {
    const { data: fresh } = await api.client.GET("/api/w/{webcast_id}/privacy", path);
    props.onChanged(fresh ? { state: "open", data: fresh } : { state: "closed", linkFailed: false });
  };
  const withdraw = async (fieldId: string): Promise<void> => {
    const { data: outcome } = await api.client.POST("/api/w/{webcast_id}/privacy/consents/{field_id}/withdrawal", {
      params: { path: { webcast_id: webcast.id, field_id: fieldId } },
    });
    if (outcome === undefined) {
      setStatus({ text: texts.t("failed"), error: true });
    } else if (outcome.erased) {
      props.onChanged({ state: "erased" });
    } else {
      setStatus({ text: texts.t("consentWithdrawn"), error: false });
      await reload();
    }
  };
  const [mailed, setMailed] = useState(false);
  const askErasure = async (): Promise<void> => {
    const { response } = await api.client.POST("/api/w/{webcast_id}/privacy/erasure-request", path);
    setMailed(response.ok);
    setStatus(response.ok ? { text: texts.t("erasureMailed"), error: false } : { text: texts.t("failed"), error: true });
  };

  return (
    <>
      <section aria-labelledby="own-data-title">
        <h3 id="own-data-title">{texts.t("ownData")}</h3>
        <dl className="own-data">
          {data.email ? <Row term={texts.t("email")} value={data.email} /> : null}
          {data.username ? <Row term={texts.t("userName")} value={data.username} /> : null}
          {data.answers.map((answer) => (
            <Row key={answer.field_id} term={answer.label} value={typeof answer.value === "string" ? answer.value : JSON.stringify(answer.value)} />
          ))}
          <Row term={texts.t("registeredAt")} value={when(data.created_at)} />
        </dl>
        <p>
          <a href={`/api/w/${encodeURIComponent(webcast.id)}/privacy/export`} download>
            {texts.t("downloadData")}
          </a>
        </p>
      </section>
      {data.consents.length > 0 ? (
        <section aria-labelledby="consents-title">
          <h3 id="consents-title">{texts.t("consents")}</h3>
          <ul className="consents">
            {data.consents.map((consent) => (
              <li key={consent.field_id}>
                <p className="pre-line">{consent.text}</p>
                <p>
                  {texts.t("consentGiven", { when: when(consent.given_at) })}
                  {consent.withdrawn_at ? ` ${texts.t("consentWithdrawnAt", { when: when(consent.withdrawn_at) })}` : null}
                </p>
                {consent.withdrawn_at ? null : (
                  <>
                    {consent.ends_participation ? <p id={`ends-${consent.field_id}`}>{texts.t("withdrawEnds")}</p> : null}
                    <button
                      type="button"
                      aria-describedby={consent.ends_participation ? `ends-${consent.field_id}` : undefined}
                      onClick={() => void withdraw(consent.field_id)}
                    >
                      {consent.ends_participation ? texts.t("withdrawAndErase") : texts.t("withdraw")}
                    </button>
                  </>
                )}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="erasure-title">
        <h3 id="erasure-title">{texts.t("erasureTitle")}</h3>
        <p>{texts.t("erasureText")}</p>
        <button type="button" disabled={mailed} onClick={() => void askErasure()}>
          {texts.t("askErasure")}
        </button>
      </section>
      <p className={status?.error ? "status error" : "status"} role={status?.error ? "alert" : "status"}>
        {status?.text ?? ""}
      </p>
    </>
  );
}

function ConfirmErasure(props: { readonly api: Api; readonly webcast: PublicWebcast; readonly token: string; readonly onErased: () => void }) {
  const { texts } = usePage();
  const [status, setStatus] = useState<Status>(null);
  const confirm = async (): Promise<void> => {
    const { response, error } = await props.api.client.POST("/api/w/{webcast_id}/privacy/erasure", {
      params: { path: { webcast_id: props.webcast.id } },
      body: { token: props.token },
    });
    if (response.ok) {
      props.onErased();
      return;
    }
    setStatus({ text: error?.errors?.[0]?.reason ? texts.t("erasureLinkInvalid") : texts.t("failed"), error: true });
  };
  return (
    <section aria-labelledby="confirm-erasure-title">
      <h3 id="confirm-erasure-title">{texts.t("confirmErasureTitle")}</h3>
      <p>{texts.t("confirmErasureText")}</p>
      <button type="button" className="primary" onClick={() => void confirm()}>
        {texts.t("confirmErasure")}
      </button>
      <p className={status?.error ? "status error" : "status"} role={status?.error ? "alert" : "status"}>
        {status?.text ?? ""}
      </p>
    </section>
  );
}

export function PrivacyPage({ api, webcast }: { readonly api: Api; readonly webcast: PublicWebcast }) {
  const { texts } = usePage();
  const id = useId().replace(/:/g, "");
  const controller = useController(api, webcast.id);
  const [secrets] = useState(() => linkSecrets(location.search, location.hash));
  const [standing, setStanding] = useState<Standing>({ state: "opening" });
  useEffect(() => {
    if (secrets.token !== null || secrets.erase !== null) {
      history.replaceState(history.state, "", withoutSecrets(location.href));
    }
    const path = { params: { path: { webcast_id: webcast.id } } };
    const open = async (): Promise<void> => {
      // The CSRF token of a session this browser holds already (every POST needs it).
      await restoreViewerSession(api, webcast.id);
      if (secrets.token !== null) {
        const { data: opened } = await api.client.POST("/api/w/{webcast_id}/privacy/session", { ...path, body: { token: secrets.token } });
        if (opened !== undefined) {
          api.setCsrfToken(opened.csrf_token);
        }
      }
      const { data } = await api.client.GET("/api/w/{webcast_id}/privacy", path);
      setStanding(data ? { state: "open", data } : { state: "closed", linkFailed: secrets.token !== null });
    };
    open().catch(() => {
      setStanding({ state: "closed", linkFailed: secrets.token !== null });
    });
  }, [api, webcast, secrets]);

  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{texts.t("privacyTitle")}</h2>
      {standing.state === "erased" ? (
        <p role="status">{texts.t("erased")}</p>
      ) : (
        <>
          {secrets.erase !== null ? (
            <ConfirmErasure
              api={api}
              webcast={webcast}
              token={secrets.erase}
              onErased={() => {
                setStanding({ state: "erased" });
              }}
            />
          ) : null}
          {standing.state === "opening" ? <p role="status">{texts.t("loading")}</p> : null}
          {standing.state === "closed" && secrets.erase === null ? (
            <>
              {standing.linkFailed ? (
                <p className="status error" role="alert">
                  {texts.t("linkInvalid")}
                </p>
              ) : null}
              <p>{texts.t("privacyText")}</p>
              <p>{texts.t("privacyByLink")}</p>
            </>
          ) : null}
          {standing.state === "open" ? <OwnDataSection api={api} webcast={webcast} data={standing.data} onChanged={setStanding} /> : null}
        </>
      )}
      {controller ? <ControllerContact controller={controller} /> : null}
      <p>
        <a href={`/w/${encodeURIComponent(webcast.id)}`}>{texts.t("backToWebcast")}</a>
      </p>
    </section>
  );
}
