/** What every part of a webcast page needs: the API client, the texts and the webcast. */
import { createContext, useContext } from "react";

import type { Api } from "../api/client";
import type { components } from "../api/schema";
import type { Locale, MessageKey, Messages } from "./i18n";
import { format, MESSAGES } from "./i18n";

export type PublicWebcast = components["schemas"]["PublicWebcast"];

export interface Texts {
  readonly locale: Locale;
  readonly messages: Messages;
  /** The text for a key, with its placeholders filled in. */
  t(key: MessageKey, values?: Readonly<Record<string, string | number>>): string;
}

export function textsFor(locale: Locale): Texts {
  const messages = MESSAGES[locale];
  return {
    locale,
    messages,
    t: (key, values) => (values ? format(messages[key], values) : messages[key]),
  };
}

export interface PageContext {
  readonly api: Api;
  readonly texts: Texts;
}

export const Page = createContext<PageContext | null>(null);

export function usePage(): PageContext {
  const page = useContext(Page);
  if (page === null) {
    throw new Error("usePage outside a page");
  }
  return page;
}
