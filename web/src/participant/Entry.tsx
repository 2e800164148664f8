/** How a viewer gets in, by the webcast's access mode: public, registration, login, invitation. */
import { useId, useRef, useState, type SyntheticEvent } from "react";

import { type PublicWebcast, usePage } from "./context";
import { Described, describedBy, RegistrationField, RequiredMark, type Answer, withAnswer } from "./fields";
import type { MessageKey } from "./i18n";
import { fieldErrors } from "./problems";

export interface Granted {
  readonly csrfToken: string;
}

interface EntryProps {
  readonly webcast: PublicWebcast;
  /** The internal registration link's key, when the page was opened by it. */
  readonly internalKey: string | null;
  readonly onGranted: (granted: Granted) => void;
}

/** The API's reasons are English; the common ones read in the page's language. */
const REASONS: Readonly<Record<string, MessageKey>> = {
  "is required": "fieldRequired",
  "must be accepted": "mustAccept",
};

function useReason(): (reason: string | undefined) => string | undefined {
  const { texts } = usePage();
  return (reason) => {
    if (reason === undefined) {
      return undefined;
    }
    const key = REASONS[reason];
    return key ? texts.t(key) : reason;
  };
}

/** A form's status line, read out when it changes. */
function Status(props: { readonly text: string | null; readonly error?: boolean }) {
  return (
    <p className={props.error ? "status error" : "status"} role={props.error ? "alert" : "status"}>
      {props.text ?? ""}
    </p>
  );
}

function PublicEntry({ webcast, onGranted }: EntryProps) {
  const { api, texts } = usePage();
  const [failed, setFailed] = useState(false);
  const enter = async (): Promise<void> => {
    const { data } = await api.client.POST("/api/w/{webcast_id}/enter", {
      params: { path: { webcast_id: webcast.id } },
    });
    if (data === undefined) {
      setFailed(true);
      return;
    }
    onGranted({ csrfToken: data.csrf_token });
  };
  return (
    <section className="entry" aria-labelledby="entry-title">
      <h2 id="entry-title">{texts.t("enter")}</h2>
      <p>{texts.t("publicNotice")}</p>
      <button type="button" className="primary" onClick={() => void enter()}>
        {texts.t("enter")}
      </button>
      <Status text={failed ? texts.t("failed") : null} error />
    </section>
  );
}

function RegistrationForm({ webcast, internalKey, onGranted }: EntryProps) {
  const { api, texts } = usePage();
  const reason = useReason();
  const id = useId().replace(/:/g, "");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [answers, setAnswers] = useState<Record<string, Answer>>({});
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  const submit = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    const { data, error } = await api.client.POST("/api/w/{webcast_id}/registrations", {
      params: { path: { webcast_id: webcast.id } },
      body: {
        email,
        answers,
        ...(password ? { password } : {}),
        ...(internalKey ? { key: internalKey } : {}),
      },
    });
    setBusy(false);
    if (data !== undefined) {
      setErrors(new Map());
      if (data.csrf_token) {
        onGranted({ csrfToken: data.csrf_token });
        return;
      }
      setStatus({ text: texts.t("checkMail"), error: false });
      return;
    }
    const found = fieldErrors(error);
    setErrors(found);
    setStatus({ text: found.size > 0 ? texts.t("fixErrors") : texts.t("failed"), error: true });
    // The first field the API named takes the focus, so keyboard and screen reader users land
    // where the problem is.
    const first = [...found.keys()][0];
    const control = first
      ? form.current?.querySelector<HTMLElement>(`[name="${CSS.escape(first.replace(/^answers\./, ""))}"]`)
      : null;
    control?.focus();
  };

  const emailError = reason(errors.get("email"));
  const passwordError = reason(errors.get("password"));
  return (
    <section className="entry" aria-labelledby="registration-title">
      <h2 id="registration-title">{texts.t("registerTitle")}</h2>
      <p className="help">{texts.t("requiredLegend")}</p>
      <form ref={form} noValidate onSubmit={(event) => void submit(event)}>
        <div className="field">
          <label htmlFor={`${id}-email`}>
            {texts.t("email")}
            <RequiredMark />
          </label>
          <input
            id={`${id}-email`}
            name="email"
            type="email"
            autoComplete="email"
            required
            value={email}
            aria-invalid={emailError !== undefined ? true : undefined}
            aria-describedby={describedBy(`${id}-email`, undefined, emailError)}
            onChange={(event) => {
              setEmail(event.target.value);
            }}
          />
          <Described id={`${id}-email`} error={emailError} />
        </div>
        {webcast.registration_fields.map((field) => (
          <RegistrationField
            key={field.id}
            field={field}
            value={answers[field.id]}
            error={reason(errors.get(`answers.${field.id}`))}
            onChange={(value) => {
              setAnswers((current) => withAnswer(current, field.id, value));
            }}
          />
        ))}
        <div className="field">
          <label htmlFor={`${id}-password`}>{texts.t("passwordOptional")}</label>
          <input
            id={`${id}-password`}
            name="password"
            type="password"
            autoComplete="new-password"
            value={password}
            aria-invalid={passwordError !== undefined ? true : undefined}
            aria-describedby={describedBy(`${id}-password`, undefined, passwordError)}
            onChange={(event) => {
              setPassword(event.target.value);
            }}
          />
          <Described id={`${id}-password`} error={passwordError} />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {texts.t("register")}
        </button>
        <Status text={status?.text ?? null} error={status?.error ?? false} />
      </form>
    </section>
  );
}

function LoginForm({ webcast, onGranted }: EntryProps) {
  const { api, texts } = usePage();
  const id = useId().replace(/:/g, "");
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    const { data, response } = await api.client.POST("/api/w/{webcast_id}/login", {
      params: { path: { webcast_id: webcast.id } },
      body: { login, password },
    });
    setBusy(false);
    if (data !== undefined) {
      onGranted({ csrfToken: data.csrf_token });
      return;
    }
    setStatus(response.status === 429 ? texts.t("tooMany") : texts.t("wrongLogin"));
  };

  return (
    <section className="entry" aria-labelledby="login-title">
      <h2 id="login-title">{texts.t("signInTitle")}</h2>
      {webcast.access_mode === "invitation" ? <p>{texts.t("invitationOnly")}</p> : null}
      <form noValidate onSubmit={(event) => void submit(event)}>
        <div className="field">
          <label htmlFor={`${id}-login`}>{texts.t("loginName")}</label>
          <input
            id={`${id}-login`}
            name="login"
            autoComplete="username"
            required
            value={login}
            onChange={(event) => {
              setLogin(event.target.value);
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-password`}>{texts.t("password")}</label>
          <input
            id={`${id}-password`}
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => {
              setPassword(event.target.value);
            }}
          />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {texts.t("signIn")}
        </button>
        <Status text={status} error />
      </form>
      <p>
        <a href={`/w/${encodeURIComponent(webcast.id)}/password-reset`}>{texts.t("forgotPassword")}</a>
      </p>
    </section>
  );
}

export function Entry(props: EntryProps) {
  switch (props.webcast.access_mode) {
    case "public":
      return <PublicEntry {...props} />;
    case "registration":
      return (
        <>
          <RegistrationForm {...props} />
          <LoginForm {...props} />
        </>
      );
    case "login":
    case "invitation":
      return <LoginForm {...props} />;
  }
}
