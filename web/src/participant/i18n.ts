/** The participant pages' texts in German and English, the language pick, and times in the
 * webcast's time zone. */

export type Locale = "de" | "en";
export const LOCALES: readonly Locale[] = ["de", "en"];

const en = {
  languageName: "English",
  language: "Language",
  loading: "Loading…",
  notFound: "This webcast does not exist or is not available.",
  failed: "Something went wrong. Please reload the page.",
  landingTitle: "Webcasts",
  landingText: "Open the link to your webcast that you received by e-mail or on the organiser's site.",
  startsAt: "Starts",
  endsAt: "Ends",
  timeZone: "Times in {zone}",
  countdown: "Starts in",
  days: "d",
  addToCalendar: "Add to calendar (.ics)",
  waitingRoom: "The webcast has not started yet. This page starts the stream when it begins.",
  enter: "Enter the webcast",
  publicNotice: "No personal data is asked for or stored to watch this webcast.",
  register: "Register",
  registerTitle: "Registration",
  email: "E-mail address",
  username: "User name",
  password: "Password",
  passwordOptional: "Password (optional, for signing in again)",
  required: "required",
  fieldRequired: "Please fill in this field.",
  mustAccept: "Please accept this to register.",
  requiredLegend: "Fields marked with * are required.",
  checkMail: "Please check your e-mail: the message we sent you contains your personal link.",
  fixErrors: "Please correct the marked fields.",
  signIn: "Sign in",
  signInTitle: "Sign in",
  loginName: "User name or e-mail address",
  wrongLogin: "User name, e-mail address or password is wrong.",
  tooMany: "Too many attempts. Please wait a moment and try again.",
  forgotPassword: "Forgot your password?",
  invitationOnly: "This webcast is by invitation: please open the personal link from your invitation e-mail.",
  linkInvalid: "This link is not valid (any more). Please request a new one.",
  signingIn: "Signing in…",
  resetTitle: "Reset password",
  resetRequest: "Send reset link",
  resetSent: "If the details match a registration, we have sent an e-mail with a link.",
  newPassword: "New password",
  setPassword: "Set password",
  passwordSet: "Your password has been changed. You can sign in now.",
  backToWebcast: "Back to the webcast",
  player: "Video",
  live: "Live",
  onDemand: "On demand",
  notLiveYet: "The stream is not live yet.",
  noVideo: "There is no video yet.",
  recordingNotice: "This live stream is being recorded.",
  quality: "Quality",
  auto: "Automatic",
  captions: "Captions",
  off: "Off",
  play: "Play",
  pause: "Pause",
  mute: "Mute",
  unmute: "Unmute",
  fullscreen: "Full screen",
  playerKeys: "Keys: space plays or pauses, arrows seek 5 s, M mutes, F full screen.",
  messages: "Questions",
  yourQuestion: "Your question",
  send: "Send",
  anonymous: "Send anonymously",
  senderShown: "Your name is shown with your question.",
  senderShownModerators: "The moderators see your name with your question.",
  sent: "Your question has been sent.",
  tooFast: "Please wait a little before sending another question.",
  yourMessages: "Your questions",
  answered: "answered",
  reply: "Reply",
  published: "Published questions",
  nothingPublished: "No questions published yet.",
  upvote: "Vote up",
  votes: "{count} votes",
  voted: "Voted",
  newMessages: "{count} new published questions",
  polls: "Polls",
  noPolls: "No poll is open.",
  submit: "Submit",
  answerSaved: "Thank you, your answer has been saved.",
  score: "Your score: {score} of {max}",
  results: "Results",
  responses: "{count} answers",
  newPoll: "New poll: {title}",
  downloads: "Downloads",
  privacyTitle: "Your data",
  privacyText:
    "For questions about your data in this webcast, for access, rectification or erasure, please contact the organiser of the webcast.",
  privacyLink: "Privacy",
  privacyByLink: "To see, download or erase your data, open this page by the privacy link at the end of any e-mail about the webcast.",
  controllerTitle: "Responsible for your data",
  dpo: "Data protection officer",
  privacyPolicy: "Privacy policy",
  ownData: "What is stored about you",
  userName: "User name",
  registeredAt: "Registered",
  downloadData: "Download all your data (ZIP with JSON and CSV)",
  consents: "Your consents",
  consentGiven: "Given on {when}.",
  consentWithdrawnAt: "Withdrawn on {when}.",
  withdraw: "Withdraw this consent",
  withdrawEnds: "Taking part in the webcast needs this consent: withdrawing it erases your data of this webcast.",
  withdrawAndErase: "Withdraw and erase my data",
  consentWithdrawn: "Your consent has been withdrawn.",
  erasureTitle: "Erase your data",
  erasureText: "We send you an e-mail with a link; your data of this webcast is erased once you confirm it there.",
  askErasure: "Send me the erasure link",
  erasureMailed: "We have sent you an e-mail. Open its link to confirm the erasure.",
  confirmErasureTitle: "Confirm the erasure",
  confirmErasureText: "Your registration, answers, messages, poll answers and viewing data of this webcast will be erased. This cannot be undone.",
  confirmErasure: "Erase my data now",
  erased: "Your data of this webcast has been erased.",
  erasureLinkInvalid:
    "This erasure link is no longer valid: it was used already or has expired. If your data was erased, nothing is left to do; otherwise open the privacy link in one of your e-mails and ask again.",
  imprint: "Imprint",
  legal: "Legal information",
  agenda: "Agenda",
  speakers: "Speakers",
  ended: "This webcast has ended.",
  skipToContent: "Skip to content",
  ofSize: "{size}",
} as const;

export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;

const de: Messages = {
  languageName: "Deutsch",
  language: "Sprache",
  loading: "Wird geladen…",
  notFound: "Diesen Webcast gibt es nicht, oder er ist nicht verfügbar.",
  failed: "Etwas ist schiefgegangen. Bitte laden Sie die Seite neu.",
  landingTitle: "Webcasts",
  landingText: "Öffnen Sie den Link zu Ihrem Webcast aus Ihrer E-Mail oder von der Seite des Veranstalters.",
  startsAt: "Beginn",
  endsAt: "Ende",
  timeZone: "Zeiten in {zone}",
  countdown: "Beginnt in",
  days: "T",
  addToCalendar: "In den Kalender (.ics)",
  waitingRoom: "Der Webcast hat noch nicht begonnen. Diese Seite startet den Stream, sobald es losgeht.",
  enter: "Webcast betreten",
  publicNotice: "Für diesen Webcast werden keine personenbezogenen Daten abgefragt oder gespeichert.",
  register: "Registrieren",
  registerTitle: "Registrierung",
  email: "E-Mail-Adresse",
  username: "Benutzername",
  password: "Passwort",
  passwordOptional: "Passwort (freiwillig, zum erneuten Anmelden)",
  required: "Pflichtfeld",
  fieldRequired: "Bitte füllen Sie dieses Feld aus.",
  mustAccept: "Bitte stimmen Sie zu, um sich zu registrieren.",
  requiredLegend: "Mit * markierte Felder sind Pflichtfelder.",
  checkMail: "Bitte sehen Sie in Ihr Postfach: Unsere E-Mail enthält Ihren persönlichen Link.",
  fixErrors: "Bitte korrigieren Sie die markierten Felder.",
  signIn: "Anmelden",
  signInTitle: "Anmeldung",
  loginName: "Benutzername oder E-Mail-Adresse",
  wrongLogin: "Benutzername, E-Mail-Adresse oder Passwort ist falsch.",
  tooMany: "Zu viele Versuche. Bitte warten Sie kurz und versuchen Sie es erneut.",
  forgotPassword: "Passwort vergessen?",
  invitationOnly: "Dieser Webcast ist nur auf Einladung: Bitte öffnen Sie den persönlichen Link aus Ihrer Einladung.",
  linkInvalid: "Dieser Link ist nicht (mehr) gültig. Bitte fordern Sie einen neuen an.",
  signingIn: "Anmeldung läuft…",
  resetTitle: "Passwort zurücksetzen",
  resetRequest: "Link zum Zurücksetzen senden",
  resetSent: "Wenn die Angaben zu einer Registrierung passen, haben wir eine E-Mail mit einem Link gesendet.",
  newPassword: "Neues Passwort",
  setPassword: "Passwort setzen",
  passwordSet: "Ihr Passwort wurde geändert. Sie können sich jetzt anmelden.",
  backToWebcast: "Zurück zum Webcast",
  player: "Video",
  live: "Live",
  onDemand: "Aufzeichnung",
  notLiveYet: "Der Stream ist noch nicht live.",
  noVideo: "Noch kein Video vorhanden.",
  recordingNotice: "Dieser Livestream wird aufgezeichnet.",
  quality: "Qualität",
  auto: "Automatisch",
  captions: "Untertitel",
  off: "Aus",
  play: "Abspielen",
  pause: "Pause",
  mute: "Ton aus",
  unmute: "Ton an",
  fullscreen: "Vollbild",
  playerKeys: "Tasten: Leertaste spielt oder pausiert, Pfeile springen 5 s, M schaltet den Ton, F Vollbild.",
  messages: "Fragen",
  yourQuestion: "Ihre Frage",
  send: "Senden",
  anonymous: "Anonym senden",
  senderShown: "Ihr Name wird mit Ihrer Frage angezeigt.",
  senderShownModerators: "Die Moderation sieht Ihren Namen zu Ihrer Frage.",
  sent: "Ihre Frage wurde gesendet.",
  tooFast: "Bitte warten Sie kurz, bevor Sie die nächste Frage senden.",
  yourMessages: "Ihre Fragen",
  answered: "beantwortet",
  reply: "Antwort",
  published: "Veröffentlichte Fragen",
  nothingPublished: "Noch keine Fragen veröffentlicht.",
  upvote: "Unterstützen",
  votes: "{count} Stimmen",
  voted: "Unterstützt",
  newMessages: "{count} neue veröffentlichte Fragen",
  polls: "Umfragen",
  noPolls: "Keine Umfrage ist offen.",
  submit: "Absenden",
  answerSaved: "Danke, Ihre Antwort wurde gespeichert.",
  score: "Ihre Punkte: {score} von {max}",
  results: "Ergebnisse",
  responses: "{count} Antworten",
  newPoll: "Neue Umfrage: {title}",
  downloads: "Downloads",
  privacyTitle: "Ihre Daten",
  privacyText:
    "Für Fragen zu Ihren Daten in diesem Webcast, für Auskunft, Berichtigung oder Löschung wenden Sie sich bitte an den Veranstalter des Webcasts.",
  privacyLink: "Datenschutz",
  privacyByLink: "Um Ihre Daten einzusehen, herunterzuladen oder zu löschen, öffnen Sie diese Seite über den Datenschutz-Link am Ende einer E-Mail zum Webcast.",
  controllerTitle: "Verantwortlich für Ihre Daten",
  dpo: "Datenschutzbeauftragte(r)",
  privacyPolicy: "Datenschutzerklärung",
  ownData: "Was über Sie gespeichert ist",
  userName: "Benutzername",
  registeredAt: "Registriert",
  downloadData: "Alle Ihre Daten herunterladen (ZIP mit JSON und CSV)",
  consents: "Ihre Einwilligungen",
  consentGiven: "Erteilt am {when}.",
  consentWithdrawnAt: "Widerrufen am {when}.",
  withdraw: "Diese Einwilligung widerrufen",
  withdrawEnds: "Die Teilnahme am Webcast setzt diese Einwilligung voraus: Ihr Widerruf löscht Ihre Daten zu diesem Webcast.",
  withdrawAndErase: "Widerrufen und meine Daten löschen",
  consentWithdrawn: "Ihre Einwilligung wurde widerrufen.",
  erasureTitle: "Ihre Daten löschen",
  erasureText: "Wir senden Ihnen eine E-Mail mit einem Link; Ihre Daten zu diesem Webcast werden gelöscht, sobald Sie dort bestätigen.",
  askErasure: "Löschlink zusenden",
  erasureMailed: "Wir haben Ihnen eine E-Mail gesendet. Öffnen Sie den Link darin, um die Löschung zu bestätigen.",
  confirmErasureTitle: "Löschung bestätigen",
  confirmErasureText: "Ihre Registrierung, Angaben, Nachrichten, Umfrageantworten und Zuschauerdaten zu diesem Webcast werden gelöscht. Das lässt sich nicht rückgängig machen.",
  confirmErasure: "Meine Daten jetzt löschen",
  erased: "Ihre Daten zu diesem Webcast wurden gelöscht.",
  erasureLinkInvalid:
    "Dieser Löschlink ist nicht mehr gültig: Er wurde schon verwendet oder ist abgelaufen. Wurden Ihre Daten gelöscht, ist nichts weiter zu tun; sonst öffnen Sie den Datenschutz-Link in einer Ihrer E-Mails und fordern ihn erneut an.",
  imprint: "Impressum",
  legal: "Rechtliche Hinweise",
  agenda: "Programm",
  speakers: "Sprecherinnen und Sprecher",
  ended: "Dieser Webcast ist beendet.",
  skipToContent: "Zum Inhalt springen",
  ofSize: "{size}",
};

export const MESSAGES: Record<Locale, Messages> = { de, en };

function isLocale(value: string): value is Locale {
  return (LOCALES as readonly string[]).includes(value);
}

/** The webcast's languages that the pages can show, its default first. */
export function pageLocales(languages: readonly string[]): Locale[] {
  const found = languages.map((language) => language.toLowerCase().split("-")[0] ?? "").filter(isLocale);
  return found.length > 0 ? [...new Set(found)] : ["en"];
}

/** The browser's most preferred language among the webcast's, else the webcast's default. */
export function pickLocale(available: readonly Locale[], preferred: readonly string[]): Locale {
  for (const wanted of preferred) {
    const base = wanted.toLowerCase().split("-")[0] ?? "";
    if (isLocale(base) && available.includes(base)) {
      return base;
    }
  }
  return available[0] ?? "en";
}

/** A text with its `{name}` placeholders filled in. */
export function format(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : String(value);
  });
}

/** A moment as date and time in the webcast's time zone, with the zone's short name. */
export function formatMoment(iso: string, locale: Locale, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, {
    dateStyle: "full",
    timeStyle: "short",
    timeZone,
  }).format(new Date(iso));
}

/** The zone as people read it: its name and its current offset, e.g. "Europe/Berlin (MEZ)". */
export function zoneLabel(iso: string, locale: Locale, timeZone: string): string {
  const part = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: "short" })
    .formatToParts(new Date(iso))
    .find((each) => each.type === "timeZoneName");
  return part ? `${timeZone} (${part.value})` : timeZone;
}

/** A byte count as people read it. */
export function formatSize(bytes: number, locale: Locale): string {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(locale, {
    style: "unit",
    unit: units[unit],
    unitDisplay: "short",
    maximumFractionDigits: 1,
  }).format(value);
}
