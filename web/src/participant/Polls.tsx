/** Polls and quizzes: the open questions, answered once; a quiz's score; results when shown. */
import { useCallback, useEffect, useId, useRef, useState, type SyntheticEvent } from "react";

import type { components } from "../api/schema";
import { type PublicWebcast, usePage } from "./context";
import { withAnswer } from "./fields";
import { fetchedOf, useRefreshing, type Fetcher } from "./refresh";

type PollView = components["schemas"]["PollView"];
type QuestionView = components["schemas"]["QuestionView"];
type MyAnswer = components["schemas"]["MyAnswer"];
type PollResults = components["schemas"]["PollResults"];
type Value = string | number | string[];

function QuestionInput(props: {
  readonly question: QuestionView;
  readonly value: Value | undefined;
  readonly disabled: boolean;
  readonly onChange: (value: Value | undefined) => void;
}) {
  const { question, value, disabled, onChange } = props;
  const id = useId().replace(/:/g, "");
  if (question.type === "single_choice" || question.type === "multiple_choice") {
    const multiple = question.type === "multiple_choice";
    const chosen = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    return (
      <fieldset className="field choices" disabled={disabled}>
        <legend>{question.text}</legend>
        {question.options.map((option) => (
          <label key={option.id} className="choice">
            <input
              type={multiple ? "checkbox" : "radio"}
              name={`${id}-${question.id}`}
              value={option.id}
              checked={chosen.includes(option.id)}
              onChange={(event) => {
                if (!multiple) {
                  onChange(option.id);
                  return;
                }
                const next = event.target.checked ? [...chosen, option.id] : chosen.filter((each) => each !== option.id);
                onChange(next.length > 0 ? next : undefined);
              }}
            />{" "}
            {option.label}
          </label>
        ))}
      </fieldset>
    );
  }
  if (question.type === "rating") {
    const steps = [];
    for (let step = question.scale_min; step <= question.scale_max; step += 1) {
      steps.push(step);
    }
    return (
      <fieldset className="field choices rating" disabled={disabled}>
        <legend>{question.text}</legend>
        {steps.map((step) => (
          <label key={step} className="choice">
            <input
              type="radio"
              name={`${id}-${question.id}`}
              value={step}
              checked={value === step}
              onChange={() => {
                onChange(step);
              }}
            />{" "}
            {step}
          </label>
        ))}
      </fieldset>
    );
  }
  return (
    <div className="field">
      <label htmlFor={`${id}-${question.id}`}>{question.text}</label>
      <textarea
        id={`${id}-${question.id}`}
        rows={2}
        maxLength={question.max_length}
        disabled={disabled}
        value={typeof value === "string" ? value : ""}
        onChange={(event) => {
          onChange(event.target.value === "" ? undefined : event.target.value);
        }}
      />
    </div>
  );
}

function Results({ webcastId, poll, seconds }: { readonly webcastId: string; readonly poll: PollView; readonly seconds: number }) {
  const { api, texts } = usePage();
  const fetcher = useCallback<Fetcher<PollResults>>(
    async (etag, signal) => {
      const { data, response } = await api.client.GET("/api/w/{webcast_id}/polls/{poll_id}/results", {
        params: { path: { webcast_id: webcastId, poll_id: poll.id }, header: etag ? { "if-none-match": etag } : {} },
        signal,
        cache: "no-store",
      });
      return fetchedOf(response, data);
    },
    [api, webcastId, poll.id],
  );
  const results = useRefreshing(fetcher, seconds);
  if (results.data === null) {
    return null;
  }
  return (
    <div className="results">
      <h4>{texts.t("results")}</h4>
      <p>{texts.t("responses", { count: results.data.responses })}</p>
      {results.data.questions.map((question) => (
        <div key={question.id}>
          <p className="question">{question.text}</p>
          <ul>
            {question.results.map((each) => (
              <li key={each.value}>
                <span>{each.label}</span>{" "}
                <meter min={0} max={100} value={each.percent} aria-label={each.label} />{" "}
                <span>
                  {Math.round(each.percent)} % ({each.count})
                </span>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}

function Poll({ webcastId, poll, seconds }: { readonly webcastId: string; readonly poll: PollView; readonly seconds: number }) {
  const { api, texts } = usePage();
  const [values, setValues] = useState<Record<string, Value>>({});
  const [mine, setMine] = useState<MyAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = { params: { path: { webcast_id: webcastId, poll_id: poll.id } } };

  useEffect(() => {
    const controller = new AbortController();
    void api.client
      .GET("/api/w/{webcast_id}/polls/{poll_id}/answer", { ...path, signal: controller.signal })
      .then(({ data }) => {
        if (data !== undefined) {
          setMine(data);
        }
      })
      .catch(() => undefined);
    return () => {
      controller.abort();
    };
    // The path is rebuilt from these two on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, webcastId, poll.id]);

  const submit = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    const { data, error: refused } = await api.client.POST("/api/w/{webcast_id}/polls/{poll_id}/answer", {
      ...path,
      body: { answers: values },
    });
    if (data !== undefined) {
      setMine(data);
      setError(null);
      return;
    }
    setError(refused.errors?.[0]?.reason ?? refused.detail);
  };

  const answered = mine !== null;
  const shown = mine?.answers ?? values;
  return (
    <article className="poll" aria-labelledby={`poll-${poll.id}`}>
      <h3 id={`poll-${poll.id}`}>{poll.title}</h3>
      {poll.status === "open" ? (
        <form onSubmit={(event) => void submit(event)}>
          {poll.questions.map((question) => (
            <QuestionInput
              key={question.id}
              question={question}
              value={shown[question.id] as Value | undefined}
              disabled={answered}
              onChange={(value) => {
                setValues((current) => withAnswer(current, question.id, value));
              }}
            />
          ))}
          {answered ? null : (
            <button type="submit" className="primary">
              {texts.t("submit")}
            </button>
          )}
          <p className={error ? "status error" : "status"} role={error ? "alert" : "status"}>
            {error ?? (answered ? texts.t("answerSaved") : "")}
          </p>
          {mine?.score != null && mine.max_score != null ? (
            <p className="score">{texts.t("score", { score: mine.score, max: mine.max_score })}</p>
          ) : null}
        </form>
      ) : null}
      {poll.results_shown ? <Results webcastId={webcastId} poll={poll} seconds={seconds} /> : null}
    </article>
  );
}

export function Polls({ webcast }: { readonly webcast: PublicWebcast }) {
  const { api, texts } = usePage();
  const id = useId().replace(/:/g, "");
  const [announcement, setAnnouncement] = useState("");
  const seen = useRef<ReadonlySet<string> | null>(null);
  const fetcher = useCallback<Fetcher<PollView[]>>(
    async (_etag, signal) => {
      const { data, response } = await api.client.GET("/api/w/{webcast_id}/polls", {
        params: { path: { webcast_id: webcast.id } },
        signal,
        cache: "no-store",
      });
      return fetchedOf(response, data);
    },
    [api, webcast.id],
  );
  const polls = useRefreshing(fetcher, webcast.refresh_seconds);

  useEffect(() => {
    if (polls.data === null) {
      return;
    }
    const open = polls.data.filter((poll) => poll.status === "open");
    if (seen.current !== null) {
      const fresh = open.find((poll) => !seen.current?.has(poll.id));
      if (fresh) {
        setAnnouncement(texts.t("newPoll", { title: fresh.title }));
      }
    }
    seen.current = new Set(open.map((poll) => poll.id));
  }, [polls.data, texts]);

  return (
    <section className="polls" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{texts.t("polls")}</h2>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      {polls.data && polls.data.length > 0 ? (
        polls.data.map((poll) => <Poll key={poll.id} webcastId={webcast.id} poll={poll} seconds={webcast.refresh_seconds} />)
      ) : (
        <p>{texts.t("noPolls")}</p>
      )}
    </section>
  );
}
