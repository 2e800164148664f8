/** The webcast's page as its customer designed it: the blocks for the page's state, in order,
 * with the theme's colours and font. Rich text arrives as HTML the server rendered from
 * Markdown and sanitised at publication (decision 0056). */
import { useEffect, useMemo, type CSSProperties } from "react";

import type { components } from "../api/schema";
import { type PublicWebcast, usePage } from "./context";
import { Entry, type Granted } from "./Entry";
import type { Locale } from "./i18n";
import { MessageBox } from "./MessageBox";
import { Polls } from "./Polls";
import { Downloads, pageStateOf, PlayerSlot, RecordingNotice, ScheduleInfo, type PageState, useNow, useSource } from "./Stage";

export type PublishedDesign = components["schemas"]["PublishedDesign"];
type RenderedBlock = components["schemas"]["RenderedBlock"];
type RenderedText = components["schemas"]["RenderedText"];

/** Blocks that need a viewer's grant: the API answers them only inside the webcast. */
const INSIDE = new Set<RenderedBlock["kind"]>(["player", "messages", "poll", "downloads", "recording_notice"]);

/** A localised value in the page's language, else the webcast's default, else any. */
export function localised<T>(values: Readonly<Record<string, T>>, locale: Locale, fallback: string): T | undefined {
  return values[locale] ?? values[fallback] ?? Object.values(values)[0];
}

/** The blocks a viewer sees now: those for the state; the entry form only outside, the
 * blocks that need a grant only inside. */
export function visibleBlocks(blocks: readonly RenderedBlock[], state: PageState, granted: boolean): RenderedBlock[] {
  return blocks.filter((block) => {
    if (!block.states.includes(state)) {
      return false;
    }
    if (block.kind === "entry") {
      return !granted;
    }
    return granted || !INSIDE.has(block.kind);
  });
}

function Html({ html, className }: { readonly html: string; readonly className?: string }) {
  // The server's sanitised HTML (nh3 allow-list); the page's policy forbids script anyway.
  return <div className={className ?? "rich-text"} dangerouslySetInnerHTML={{ __html: html }} />;
}

interface BlockProps {
  readonly block: RenderedBlock;
  readonly text: RenderedText | undefined;
}

function Heading({ text }: { readonly text: RenderedText | undefined }) {
  return text?.heading ? <h2>{text.heading}</h2> : null;
}

function Agenda({ block, text }: BlockProps) {
  const { texts } = usePage();
  return (
    <section className="block agenda" aria-label={text?.heading || texts.t("agenda")}>
      <h2>{text?.heading || texts.t("agenda")}</h2>
      <ol>
        {block.agenda.map((item, index) => (
          <li key={index}>
            <span className="time">{item.starts_at}</span> {localised(item.title, texts.locale, "de") ?? ""}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Speakers({ block, text }: BlockProps) {
  const { texts } = usePage();
  return (
    <section className="block speakers" aria-label={text?.heading || texts.t("speakers")}>
      <h2>{text?.heading || texts.t("speakers")}</h2>
      <ul>
        {block.speakers.map((speaker) => (
          <li key={speaker.id}>
            {/* The name beside it says who it is: the photo adds nothing to read out. */}
            {speaker.photo_url ? <img className="photo" src={speaker.photo_url} alt="" width={64} height={64} loading="lazy" /> : null}
            <span className="name">{speaker.name}</span>
            {Object.keys(speaker.role).length > 0 ? (
              <span className="role"> · {localised(speaker.role, texts.locale, "de")}</span>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Legal({ block, webcastId }: { readonly block: RenderedBlock; readonly webcastId: string }) {
  const { texts } = usePage();
  return (
    <nav className="block legal" aria-label={texts.t("legal")}>
      <ul>
        {block.imprint_url ? (
          <li>
            <a href={block.imprint_url} rel="noopener noreferrer">
              {texts.t("imprint")}
            </a>
          </li>
        ) : null}
        <li>
          <a href={block.privacy_url ?? `/w/${encodeURIComponent(webcastId)}/privacy`} rel="noopener noreferrer">
            {texts.t("privacyLink")}
          </a>
        </li>
      </ul>
    </nav>
  );
}

export interface DesignedPageProps {
  readonly webcast: PublicWebcast;
  readonly design: PublishedDesign;
  readonly granted: boolean;
  readonly internalKey: string | null;
  readonly onGranted: (granted: Granted) => void;
}

function Blocks(props: DesignedPageProps & { readonly source: ReturnType<typeof useSource> | null }) {
  const { texts } = usePage();
  const { webcast, design, granted, source } = props;
  const now = useNow(webcast.refresh_seconds * 1000);
  const state = pageStateOf(webcast.schedule, source, now);
  const shown = visibleBlocks(design.blocks, state, granted);
  const pageNotice = design.blocks.some((block) => block.kind === "recording_notice");
  return (
    <div className="blocks" data-state={state}>
      {shown.map((block) => {
        const text = localised(block.texts, texts.locale, webcast.language);
        switch (block.kind) {
          case "intro":
            return (
              <section key={block.id} className="block intro">
                {text?.html ? <Html html={text.html} className="rich-text teaser" /> : webcast.description ? <p className="teaser">{webcast.description}</p> : null}
              </section>
            );
          case "rich_text":
            return (
              <section key={block.id} className="block">
                <Heading text={text} />
                <Html html={text?.html ?? ""} />
              </section>
            );
          case "footer":
            return (
              <footer key={block.id} className="block footer">
                <Html html={text?.html ?? ""} />
              </footer>
            );
          case "agenda":
            return <Agenda key={block.id} block={block} text={text} />;
          case "speakers":
            return <Speakers key={block.id} block={block} text={text} />;
          case "countdown":
            return <ScheduleInfo key={block.id} webcast={webcast} before={state === "waiting"} />;
          case "entry":
            return <Entry key={block.id} webcast={webcast} internalKey={props.internalKey} onGranted={props.onGranted} />;
          case "player":
            return <PlayerSlot key={block.id} webcast={webcast} source={source} state={state} recordingNotice={!pageNotice} />;
          case "recording_notice":
            return <RecordingNotice key={block.id} source={source} />;
          case "messages":
            return webcast.modules.message_box ? <MessageBox key={block.id} webcast={webcast} /> : null;
          case "poll":
            return webcast.modules.polls ? <Polls key={block.id} webcast={webcast} /> : null;
          case "downloads":
            return <Downloads key={block.id} webcast={webcast} />;
          case "legal":
            return <Legal key={block.id} block={block} webcastId={webcast.id} />;
        }
      })}
    </div>
  );
}

function Inside(props: DesignedPageProps) {
  const source = useSource(props.webcast);
  return <Blocks {...props} source={source} />;
}

const FONTS: Readonly<Record<PublishedDesign["theme"]["font"], string>> = {
  system: "font-system",
  humanist: "font-humanist",
  serif: "font-serif",
  rounded: "font-rounded",
  mono: "font-mono",
};

/** The theme's colours as the design tokens' custom properties (set through the CSS object
 * model, which the page's `style-src 'self'` allows). */
export function themeStyle(theme: PublishedDesign["theme"]): CSSProperties {
  return {
    "--color-background": theme.background,
    "--color-text": theme.text,
    "--color-accent": theme.accent,
    "--color-accent-text": theme.accent_text,
    // A path the API wrote (ids only); quoted for CSS all the same.
    "--page-background-image": theme.background_image_url ? `url(${JSON.stringify(theme.background_image_url)})` : "none",
  } as CSSProperties;
}

export function DesignedPage(props: DesignedPageProps) {
  const style = useMemo(() => themeStyle(props.design.theme), [props.design.theme]);
  const font = FONTS[props.design.theme.font];
  useEffect(() => {
    // The whole page takes the theme, the header and footer included.
    for (const [name, value] of Object.entries(style)) {
      document.body.style.setProperty(name, String(value));
    }
    document.body.classList.add(font);
    const backdrop = props.design.theme.background_image_url !== null;
    document.body.classList.toggle("with-background-image", backdrop);
    return () => {
      document.body.classList.remove(font, "with-background-image");
    };
  }, [style, font, props.design.theme.background_image_url]);
  return props.granted ? <Inside {...props} /> : <Blocks {...props} source={null} />;
}
