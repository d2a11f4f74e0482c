// A real TypeScript-SDK MCP server (@modelcontextprotocol/sdk 1.32 with zod 4), over stdio.
//
// Its tools declare integers, booleans, enums, arrays, nested objects and optional parameters the way
// TypeScript authors write them (zod shapes), so the SDK checks calls with zod. Every tool answers
// with the JSON of the arguments it received, so a test sees exactly what the real tool saw.
//
//   node tests/servers/zod_server.mjs        (packages from .mcp-servers/node_modules, or
//                                             $GTM_TEST_NODE_MODULES; scripts/setup_mcp_servers.sh)
const root = process.env.GTM_TEST_NODE_MODULES
  ? new URL(`file://${process.env.GTM_TEST_NODE_MODULES.replace(/\/?$/, "/")}`)
  : new URL("../../.mcp-servers/node_modules/", import.meta.url);
const { McpServer } = await import(new URL("@modelcontextprotocol/sdk/dist/esm/server/mcp.js", root));
const { StdioServerTransport } = await import(new URL("@modelcontextprotocol/sdk/dist/esm/server/stdio.js", root));
const { z } = await import(new URL("zod/v4/index.js", root));

const server = new McpServer({ name: "profiles-typescript", version: "1.0.0" });
const received = (args) => ({ content: [{ type: "text", text: JSON.stringify(args ?? null) }] });

server.registerTool("book", {
  description: "Book seats for a show.",
  inputSchema: {
    count: z.number().int(),
    vip: z.boolean().optional(),
    seat: z.enum(["aisle", "window"]).default("aisle"),
    tags: z.array(z.string()).optional(),
    guest: z.object({ name: z.string(), age: z.number().int() }).optional(),
    note: z.string().nullable().optional(),
  },
}, async (args) => received(args));

server.registerTool("search", {
  description: "Search the catalogue.",
  annotations: { readOnlyHint: true },
  inputSchema: {
    query: z.string().min(1),
    limit: z.number().int().min(1).max(50).optional(),
    sort: z.enum(["relevance", "newest"]).optional(),
    filters: z.object({
      categories: z.array(z.string()).max(5).optional(),
      min_price: z.number().nonnegative().optional(),
      in_stock: z.boolean().optional(),
    }).optional(),
    ids: z.array(z.number().int()).optional(),
  },
}, async (args) => received(args));

server.registerTool("set_flags", {
  description: "Change settings.",
  inputSchema: {
    dark_mode: z.boolean(),
    volume: z.number(),
    retries: z.number().int().default(3),
    labels: z.record(z.string(), z.number().int()).optional(),
  },
}, async (args) => received(args));

await server.connect(new StdioServerTransport());
