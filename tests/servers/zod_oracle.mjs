// Real zod 4 as an oracle for the `zod` profile's port (gtm_mcp/calls/profiles/zod.py).
//
// Reads JSON lines {"schema": <JSON Schema>, "args": <value>} on stdin and answers one JSON line each:
// {"ok": true, "data": <parsed>} or {"ok": false, "text": <the SDK's getParseErrorMessage>}. The JSON
// Schema becomes the zod schema a TypeScript author writes for it (z.object strips undeclared keys,
// `anyOf [X, null]` / `type [X, "null"]` is X.nullable(), integer is z.number().int(), a property
// outside `required` is .optional(), `default` is .default()): the same reading as the port, while
// every parse, check, union rule and message comes from zod itself, run the way the TypeScript SDK
// runs it (safeParseAsync, then getParseErrorMessage).
import readline from "node:readline";

const root = process.env.GTM_TEST_NODE_MODULES
  ? new URL(`file://${process.env.GTM_TEST_NODE_MODULES.replace(/\/?$/, "/")}`)
  : new URL("../../.mcp-servers/node_modules/", import.meta.url);
const { z } = await import(new URL("zod/v4/index.js", root));
const { getParseErrorMessage, safeParseAsync } = await import(
  new URL("@modelcontextprotocol/sdk/dist/esm/server/zod-compat.js", root));

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const FORMATS = {
  email: () => z.email(), uuid: () => z.uuid(), "date-time": () => z.iso.datetime({ offset: true }),
  date: () => z.iso.date(), ipv4: () => z.ipv4(), ipv6: () => z.ipv6(),
};

function isNullPair(options) {
  if (options.length !== 2) return null;
  const nulls = options.filter((o) => o && o.type === "null" && Object.keys(o).length === 1);
  return nulls.length === 1 ? options.find((o) => o !== nulls[0]) : null;
}

function build(s, top = false) {
  if (s === true || s === undefined) return z.any();
  if (s === false) return z.never();
  let node;
  if (Array.isArray(s.enum)) {
    node = s.enum.length === 1 ? z.literal(s.enum[0])
      : s.enum.every((v) => typeof v === "string") ? z.enum(s.enum) : z.union(s.enum.map((v) => z.literal(v)));
  } else if ("const" in s) {
    node = z.literal(s.const);
  } else if (Array.isArray(s.anyOf)) {
    const inner = isNullPair(s.anyOf);
    node = inner ? build(inner).nullable() : z.union(s.anyOf.map((o) => build(o)));
  } else if (Array.isArray(s.type)) {
    const others = s.type.filter((t) => t !== "null");
    const bare = { ...s, default: undefined };
    node = s.type.length === 2 && others.length === 1 ? build({ ...bare, type: others[0] }).nullable()
      : z.union(s.type.map((t) => build({ ...bare, type: t })));
  } else {
    switch (s.type) {
      case "string": {
        let x = z.string();
        // a format's own pattern (toJSONSchema writes it beside the format) is that format's check
        let format = FORMATS[s.format]?.();
        if (s.format === "uuid" && s.pattern === z.guid()._zod.def.pattern.source) format = z.guid();
        if (format) x = x.check(format);
        if (typeof s.minLength === "number") x = x.min(s.minLength);
        if (typeof s.maxLength === "number") x = x.max(s.maxLength);
        if (typeof s.pattern === "string" && s.pattern !== format?._zod.def.pattern?.source) {
          x = x.regex(new RegExp(s.pattern));
        }
        node = x;
        break;
      }
      case "number":
      case "integer": {
        let x = s.type === "integer" ? z.number().int() : z.number();
        const low = s.type === "integer" && s.minimum === -MAX_SAFE ? undefined : s.minimum;
        const high = s.type === "integer" && s.maximum === MAX_SAFE ? undefined : s.maximum;
        if (typeof low === "number") x = x.min(low);
        if (typeof high === "number") x = x.max(high);
        if (typeof s.exclusiveMinimum === "number") x = x.gt(s.exclusiveMinimum);
        if (typeof s.exclusiveMaximum === "number") x = x.lt(s.exclusiveMaximum);
        if (typeof s.multipleOf === "number") x = x.multipleOf(s.multipleOf);
        node = x;
        break;
      }
      case "boolean": node = z.boolean(); break;
      case "null": node = z.null(); break;
      case "array": {
        let x = z.array(build(s.items));
        if (typeof s.minItems === "number") x = x.min(s.minItems);
        if (typeof s.maxItems === "number") x = x.max(s.maxItems);
        node = x;
        break;
      }
      case "object": {
        const required = new Set(s.required ?? []);
        const shape = {};
        for (const [key, sub] of Object.entries(s.properties ?? {})) {
          shape[key] = required.has(key) ? build(sub) : build(sub).optional();
        }
        const ap = s.additionalProperties;
        const hasProps = Object.keys(shape).length > 0;
        if (ap === false) node = z.strictObject(shape);
        else if (ap && typeof ap === "object" && Object.keys(ap).length) node = z.object(shape).catchall(build(ap));
        else if (top && !hasProps && ap === undefined) node = z.object(shape);
        else if (ap === true || (ap && typeof ap === "object") || !hasProps) node = z.looseObject(shape);
        else node = z.object(shape);
        break;
      }
      default: node = z.any();
    }
  }
  if (s.default !== undefined) node = node.default(s.default);
  return node;
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const { schema, args } = JSON.parse(line);
    const result = await safeParseAsync(build(schema, true), args ?? {});
    answer = result.success ? { ok: true, data: result.data } : { ok: false, text: getParseErrorMessage(result.error) };
  } catch (e) {
    answer = { crash: String(e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
