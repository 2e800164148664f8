/** The message box: ask (anonymously where the sender would be shown), one's own questions with
 * their replies, and the published feed with upvotes, refreshed by ETag. */
import { useCallback, useEffect, useId, useRef, useState, type SyntheticEvent } from "react";

import type { components } from "../api/schema";
import { type PublicWebcast, usePage } from "./context";
import { fetchedOf, useRefreshing, type Fetcher } from "./refresh";

type FeedItem = components["schemas"]["FeedItem"];
type PublishedFeed = components["schemas"]["PublishedFeed"];
type OwnMessage = components["schemas"]["OwnMessage"];

const MAX_LENGTH = 2000;

export function MessageBox({ webcast }: { readonly webcast: PublicWebcast }) {
  const { api, texts } = usePage();
  const id = useId().replace(/:/g, "");
  const [text, setText] = useState("");
  const [anonymous, setAnonymous] = useState(false);
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  const [voted, setVoted] = useState<ReadonlySet<string>>(new Set());
  const [announcement, setAnnouncement] = useState("");
  const seen = useRef<ReadonlySet<string> | null>(null);
  const path = { params: { path: { webcast_id: webcast.id } } };

  const feedFetcher = useCallback<Fetcher<PublishedFeed>>(
    async (etag, signal) => {
      const { data, response } = await api.client.GET("/api/w/{webcast_id}/messages/published", {
        params: { path: { webcast_id: webcast.id }, header: etag ? { "if-none-match": etag } : {} },
        signal,
        cache: "no-store",
      });
      return fetchedOf(response, data);
    },
    [api, webcast.id],
  );
  const mineFetcher = useCallback<Fetcher<OwnMessage[]>>(
    async (_etag, signal) => {
      const { data, response } = await api.client.GET("/api/w/{webcast_id}/messages/mine", {
        params: { path: { webcast_id: webcast.id } },
        signal,
        cache: "no-store",
      });
      return fetchedOf(response, data);
    },
    [api, webcast.id],
  );
  const feed = useRefreshing(feedFetcher, webcast.refresh_seconds);
  // Replies can only come to a viewer who asked: after the first read, the own messages are
  // asked for again only while there are some (at 100,000 viewers a tenth of the API's load).
  const [asked, setAsked] = useState(false);
  const [hasOwn, setHasOwn] = useState(true);
  const mine = useRefreshing(mineFetcher, webcast.refresh_seconds, hasOwn || asked);
  if (mine.data !== null && hasOwn !== mine.data.length > 0) {
    setHasOwn(mine.data.length > 0);
  }

  // New published messages are announced (not read out one by one).
  useEffect(() => {
    const items = feed.data?.items;
    if (!items) {
      return;
    }
    const ids = new Set(items.map((item) => item.id));
    if (seen.current !== null) {
      const fresh = items.filter((item) => !seen.current?.has(item.id)).length;
      if (fresh > 0) {
        setAnnouncement(texts.t("newMessages", { count: fresh }));
      }
    }
    seen.current = ids;
  }, [feed.data, texts]);

  const senderShown = webcast.privacy.messages_show_sender_to_audience
    ? texts.t("senderShown")
    : webcast.privacy.messages_show_sender_to_moderators
      ? texts.t("senderShownModerators")
      : null;

  const send = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    if (text.trim() === "") {
      return;
    }
    const { data, response } = await api.client.POST("/api/w/{webcast_id}/messages", {
      ...path,
      body: { text, anonymous },
    });
    if (data !== undefined) {
      setText("");
      setStatus({ text: texts.t("sent"), error: false });
      setAsked(true);
      mine.refresh();
      return;
    }
    setStatus({ text: response.status === 429 ? texts.t("tooFast") : texts.t("failed"), error: true });
  };

  const upvote = async (item: FeedItem): Promise<void> => {
    const { data } = await api.client.POST("/api/w/{webcast_id}/messages/{message_id}/votes", {
      params: { path: { webcast_id: webcast.id, message_id: item.id } },
    });
    if (data !== undefined) {
      setVoted((current) => new Set([...current, item.id]));
    }
  };

  return (
    <section className="messages" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{texts.t("messages")}</h2>
      <form onSubmit={(event) => void send(event)}>
        <div className="field">
          <label htmlFor={`${id}-text`}>{texts.t("yourQuestion")}</label>
          <textarea
            id={`${id}-text`}
            name="text"
            rows={3}
            maxLength={MAX_LENGTH}
            value={text}
            aria-describedby={senderShown ? `${id}-sender` : undefined}
            onChange={(event) => {
              setText(event.target.value);
            }}
          />
          {senderShown ? (
            <p className="help" id={`${id}-sender`}>
              {senderShown}
            </p>
          ) : null}
        </div>
        {senderShown ? (
          <div className="field check">
            <input
              id={`${id}-anonymous`}
              type="checkbox"
              checked={anonymous}
              onChange={(event) => {
                setAnonymous(event.target.checked);
              }}
            />
            <label htmlFor={`${id}-anonymous`}>{texts.t("anonymous")}</label>
          </div>
        ) : null}
        <button type="submit" className="primary">
          {texts.t("send")}
        </button>
        <p className={status?.error ? "status error" : "status"} role={status?.error ? "alert" : "status"}>
          {status?.text ?? ""}
        </p>
      </form>

      {mine.data && mine.data.length > 0 ? (
        <>
          <h3>{texts.t("yourMessages")}</h3>
          <ul className="own-messages">
            {mine.data.map((message) => (
              <li key={message.id}>
                <p>{message.text}</p>
                {message.answered ? <p className="badge">{texts.t("answered")}</p> : null}
                {message.replies.map((reply) => (
                  <p key={reply.id} className="reply">
                    <span className="visually-hidden">{texts.t("reply")}: </span>
                    {reply.text}
                  </p>
                ))}
              </li>
            ))}
          </ul>
        </>
      ) : null}

      <h3>{texts.t("published")}</h3>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      {feed.data && feed.data.items.length > 0 ? (
        <ul className="feed">
          {feed.data.items.map((item) => (
            <li key={item.id}>
              <p>{item.text}</p>
              {item.sender_name ? <p className="sender">{item.sender_name}</p> : null}
              {item.replies.map((reply, index) => (
                <p key={index} className="reply">
                  <span className="visually-hidden">{texts.t("reply")}: </span>
                  {reply}
                </p>
              ))}
              <button
                type="button"
                className="vote"
                aria-pressed={voted.has(item.id)}
                disabled={voted.has(item.id)}
                onClick={() => void upvote(item)}
              >
                {voted.has(item.id) ? texts.t("voted") : texts.t("upvote")}
                <span className="count"> · {texts.t("votes", { count: item.votes })}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p>{texts.t("nothingPublished")}</p>
      )}
    </section>
  );
}
