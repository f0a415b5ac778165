import * as mm from "@pcpu/mm";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("imports", () => {
    expect(typeof mm).toBe("object");
  });
});
