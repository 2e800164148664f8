import { describe, expect, it } from "vitest";

import { fieldErrors, isProblem } from "./problems";

describe("fieldErrors", () => {
  it("keys each field's first reason as the form names it", () => {
    const problem = {
      type: "t",
      title: "Unprocessable",
      status: 422,
      detail: "d",
      errors: [
        { field: "body.email", reason: "is not an e-mail address" },
        { field: "answers.company", reason: "is required" },
        { field: "answers.company", reason: "second" },
      ],
    };
    expect([...fieldErrors(problem)]).toEqual([
      ["email", "is not an e-mail address"],
      ["answers.company", "is required"],
    ]);
    expect(fieldErrors(undefined).size).toBe(0);
    expect(isProblem(problem)).toBe(true);
    expect(isProblem({ status: "422" })).toBe(false);
  });
});
