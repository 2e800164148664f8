/** What an API refusal says about the form: its fields' reasons, keyed as the form names them. */
import type { components } from "../api/schema";

export type Problem = components["schemas"]["Problem"];

/** Each named field's reason; `body.email` and `email` are the same field to a form. */
export function fieldErrors(problem: Problem | undefined): Map<string, string> {
  const errors = new Map<string, string>();
  for (const each of problem?.errors ?? []) {
    const field = each.field.replace(/^body\./, "");
    if (!errors.has(field)) {
      errors.set(field, each.reason);
    }
  }
  return errors;
}

/** Whether a response body is a problem document (the API's every refusal is one). */
export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === "object" &&
    value !== null &&
    "status" in value &&
    "title" in value &&
    typeof (value as { status: unknown }).status === "number"
  );
}
