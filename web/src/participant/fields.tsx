/** One registration field as a native, labelled form control, with its error beside it. */
import { useId, useMemo } from "react";

import type { components } from "../api/schema";
import { usePage } from "./context";
import type { Locale } from "./i18n";

export type FormField = components["schemas"]["FormField"];
export type Answer = string | number | boolean | string[];

/** ISO 3166 regions the browser can name, sorted by name in the page's language. */
export function countries(locale: Locale): { code: string; name: string }[] {
  const names = new Intl.DisplayNames([locale], { type: "region", fallback: "none" });
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const found: { code: string; name: string }[] = [];
  for (const first of letters) {
    for (const second of letters) {
      const code = first + second;
      const name = names.of(code);
      if (name !== undefined && name !== code) {
        found.push({ code, name });
      }
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name, locale));
}

interface FieldProps {
  readonly field: FormField;
  readonly value: Answer | undefined;
  readonly error: string | undefined;
  readonly onChange: (value: Answer | undefined) => void;
}

export function RequiredMark() {
  const { texts } = usePage();
  return (
    <span className="required" title={texts.t("required")}>
      {" "}
      *<span className="visually-hidden"> ({texts.t("required")})</span>
    </span>
  );
}

/** Where a field's error and help are read out: by id, from the control's aria-describedby. */
export function Described(props: { readonly id: string; readonly help?: string | undefined; readonly error?: string | undefined }) {
  return (
    <>
      {props.help ? (
        <p className="help" id={`${props.id}-help`}>
          {props.help}
        </p>
      ) : null}
      {props.error !== undefined ? (
        <p className="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      ) : null}
    </>
  );
}

export function describedBy(id: string, help: string | undefined, error: string | undefined): string | undefined {
  const ids = [help ? `${id}-help` : null, error !== undefined ? `${id}-error` : null].filter(
    (each): each is string => each !== null,
  );
  return ids.length > 0 ? ids.join(" ") : undefined;
}

function textValue(value: Answer | undefined): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

export function RegistrationField({ field, value, error, onChange }: FieldProps) {
  const { texts } = usePage();
  const id = `field-${useId().replace(/:/g, "")}`;
  const regions = useMemo(() => (field.type === "country" ? countries(texts.locale) : []), [field.type, texts.locale]);
  const help = field.help_text || undefined;
  const common = {
    id,
    name: field.id,
    required: field.required,
    "aria-invalid": error !== undefined ? true : undefined,
    "aria-describedby": describedBy(id, help, error),
  } as const;
  const label = (
    <label htmlFor={id}>
      {field.label}
      {field.required ? <RequiredMark /> : null}
    </label>
  );
  const text = (type: string, autoComplete?: string) => (
    <div className="field">
      {label}
      <input
        {...common}
        type={type}
        value={textValue(value)}
        {...(autoComplete ? { autoComplete } : {})}
        {...(field.max_length != null ? { maxLength: field.max_length } : {})}
        onChange={(event) => {
          onChange(event.target.value === "" ? undefined : event.target.value);
        }}
      />
      <Described id={id} help={help} error={error} />
    </div>
  );

  switch (field.type) {
    case "display_text":
      return <p className="display-text">{field.label}</p>;
    case "short_text":
      return text("text");
    case "email":
      return text("email", "email");
    case "phone":
      return text("tel", "tel");
    case "date":
      return text("date");
    case "number":
      return (
        <div className="field">
          {label}
          <input
            {...common}
            type="number"
            inputMode="decimal"
            value={textValue(value)}
            {...(field.minimum != null ? { min: field.minimum } : {})}
            {...(field.maximum != null ? { max: field.maximum } : {})}
            onChange={(event) => {
              const number = event.target.valueAsNumber;
              onChange(Number.isNaN(number) ? undefined : number);
            }}
          />
          <Described id={id} help={help} error={error} />
        </div>
      );
    case "long_text":
      return (
        <div className="field">
          {label}
          <textarea
            {...common}
            rows={4}
            value={textValue(value)}
            {...(field.max_length != null ? { maxLength: field.max_length } : {})}
            onChange={(event) => {
              onChange(event.target.value === "" ? undefined : event.target.value);
            }}
          />
          <Described id={id} help={help} error={error} />
        </div>
      );
    case "country":
      return (
        <div className="field">
          {label}
          <select
            {...common}
            autoComplete="country"
            value={textValue(value)}
            onChange={(event) => {
              onChange(event.target.value === "" ? undefined : event.target.value);
            }}
          >
            <option value="">–</option>
            {regions.map((region) => (
              <option key={region.code} value={region.code}>
                {region.name}
              </option>
            ))}
          </select>
          <Described id={id} help={help} error={error} />
        </div>
      );
    case "single_choice":
    case "multiple_choice": {
      const multiple = field.type === "multiple_choice";
      const chosen = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
      return (
        <fieldset
          className="field choices"
          aria-invalid={error !== undefined ? true : undefined}
          aria-describedby={describedBy(id, help, error)}
        >
          <legend>
            {field.label}
            {field.required ? <RequiredMark /> : null}
          </legend>
          {field.options.map((option) => (
            <label key={option.id} className="choice">
              <input
                type={multiple ? "checkbox" : "radio"}
                name={field.id}
                value={option.id}
                checked={chosen.includes(option.id)}
                onChange={(event) => {
                  if (!multiple) {
                    onChange(option.id);
                    return;
                  }
                  const next = event.target.checked
                    ? [...chosen, option.id]
                    : chosen.filter((each) => each !== option.id);
                  onChange(next.length > 0 ? next : undefined);
                }}
              />{" "}
              {option.label}
            </label>
          ))}
          <Described id={id} help={help} error={error} />
        </fieldset>
      );
    }
    case "checkbox":
    case "consent":
      return (
        <div className={`field check ${field.type}`}>
          <input
            {...common}
            type="checkbox"
            checked={value === true}
            onChange={(event) => {
              onChange(event.target.checked ? true : undefined);
            }}
          />
          <label htmlFor={id}>
            {field.label}
            {field.required ? <RequiredMark /> : null}
          </label>
          <Described id={id} help={help} error={error} />
        </div>
      );
  }
}

/** The answers with one answer set, or removed when it is empty. */
export function withAnswer<T>(answers: Readonly<Record<string, T>>, key: string, value: T | undefined): Record<string, T> {
  const rest = Object.fromEntries(Object.entries(answers).filter(([each]) => each !== key));
  return value === undefined ? rest : { ...rest, [key]: value };
}
