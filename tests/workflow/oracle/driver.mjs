// GitHub's workflow parser as an oracle: one node process, JSONL in, JSONL out.
//
// Each input line is {"id", "name", "text"}: a workflow file's path and content. Each output
// line is {"id", "errors": [{"line", "col", "message"}]}, in the parser's order. The workflow
// is read as GitHub's language service reads it (`parseWorkflow`, then
// `convertWorkflowTemplate` with ErrorPolicy.TryConversion so the converter's checks run
// after schema errors too). A line, col of 0 means the parser gave no position.
// Usage: node driver.mjs <path to @actions/workflow-parser/dist>
import { register } from "node:module";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

// The package imports its schema JSON without an import attribute (it is built for bundlers);
// this loader hook adds `type: "json"` so plain node can load it.
const JSON_HOOK = `export async function load(url, context, next) {
  if (url.endsWith(".json")) context = { ...context, importAttributes: { type: "json" } };
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(JSON_HOOK)}`);

const dist = process.argv[2];
const load = (name) => import(pathToFileURL(`${dist}/${name}`).href);
const { parseWorkflow } = await load("workflows/workflow-parser.js");
const { convertWorkflowTemplate, ErrorPolicy } = await load("model/convert.js");
const { NoOperationTraceWriter } = await load("templates/trace-writer.js");

// The position GitHub prints in the message ("file (Line: L, Col: C): …"), as the C# server
// and GitHub's shared reader test data do; else (YAML syntax errors carry no prefix) the
// range. They differ only for an error inside `${{ }}`: the range, an editor highlight, is
// the `${{`; the message names the start of the scalar holding it.
function position(err) {
  const found = /\(Line: (\d+), Col: (\d+)\)/.exec(err.prefix ?? "");
  if (found) return [Number(found[1]), Number(found[2])];
  if (err.range) return [err.range.start.line, err.range.start.column];
  return [0, 0];
}

async function check(name, text) {
  const parsed = parseWorkflow({ name, content: text }, new NoOperationTraceWriter());
  if (parsed.value !== undefined) {
    await convertWorkflowTemplate(parsed.context, parsed.value, undefined, {
      errorPolicy: ErrorPolicy.TryConversion,
    });
  }
  return parsed.context.errors.getErrors().map((err) => {
    const [line, col] = position(err);
    return { line, col, message: err.rawMessage };
  });
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { id, name, text } = JSON.parse(line);
  let out;
  try {
    out = { id, errors: await check(name, text) };
  } catch (exc) {
    out = { id, crash: String(exc && exc.stack ? exc.stack : exc) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
