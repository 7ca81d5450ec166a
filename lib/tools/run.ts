/**
 * Runs one tool call by name: validates the arguments with the tool's zod
 * schema and turns every failure into a readable error result. Used by the
 * hub for every session's calls (and so the only place a tool runs).
 *
 * @module
 */
import { z } from "zod";
import { describeError } from "../log.ts";
import { type Tool, type ToolContext, ToolError } from "./tool.ts";

/** A tool call's outcome, as MCP shows it. */
export interface ToolOutcome {
  text: string;
  isError: boolean;
}

/** Renders zod issues as `field: problem; field: problem`. */
export function formatZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join(".") : "arguments"}: ${i.message}`)
    .join("; ");
}

/** Runs `name` with `args` against `ctx`; never throws. */
export async function runTool(
  tools: readonly Tool[],
  ctx: ToolContext,
  name: string,
  args: unknown,
  log: (line: string) => void,
): Promise<ToolOutcome> {
  const tool = tools.find((t) => t.name === name);
  const fail = (text: string) => ({ text, isError: true });
  if (!tool) {
    return fail(`unknown tool "${name}"; available: ${tools.map((t) => t.name).join(", ")}`);
  }
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) {
    return fail(`invalid arguments for ${name}: ${formatZodError(parsed.error)}`);
  }
  try {
    return { text: await tool.run(ctx, parsed.data), isError: false };
  } catch (err) {
    if (!(err instanceof ToolError)) log(`tool ${name} failed: ${describeError(err)}`);
    return fail(`${name} failed: ${describeError(err)}`);
  }
}
