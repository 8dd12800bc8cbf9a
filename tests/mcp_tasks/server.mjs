// An MCP server built from the official TypeScript SDK v2 (`@modelcontextprotocol/server` and
// `/node`), the publisher's local service in tasks_test.py. One endpoint serves both eras:
// revision 2026-07-28 (no initialize, no session, the per-request `_meta` envelope and the
// Mcp-* headers) and 2025-era traffic through the SDK's stateless legacy fallback
// (createMcpHandler's default).
//
//   node server.mjs PORT        (PORT 0 picks a free port)
//
// Tools:
//   echo      { text }  -> the text back;
//   countdown { steps, delayMs } -> one notifications/progress per step on the request's own
//                          stream (when the caller asked for progress), delayMs apart, then a text;
//   report    { ms }    -> a task (the Tasks extension): in the 2026-07-28 era the flat
//                          CreateTaskResult (`resultType: "task"`, `taskId`, `ttlMs`); in the 2025
//                          era 2025-11-25's `{ task: { taskId, ttl, … } }`. The task completes
//                          `ms` after it was created, with the text "report ready";
//   audit     { ms }    -> the same, the tool a test policy lets callers start but not cancel;
//   wipe      { confirm } -> "wiped" (the tool the policy keeps out of reach);
//   locate    { region, city } -> "located in REGION": `region` is declared with
//                          `x-mcp-header: Region`, so 2026-07-28 clients mirror it in
//                          Mcp-Param-Region and the SDK checks that header against it;
//   confirm   { action } -> an InputRequiredResult (`resultType: "input_required"`) asking the
//                          client to confirm through elicitation, with a fixed requestState.
// Task methods (custom handlers, as the SDK has no task runtime of its own): tasks/get
// (status; result once completed), tasks/update (ack), tasks/cancel (ack, status cancelled),
// tasks/result (2025-11-25: the result, or an error until completed).
//
// Stdout: {"event":"listening","port":N} when ready, then one line per JSON-RPC request the
// service received: {"event":"request","method":M,"taskId":T,"tool":N,"mcpName":H,"region":R,
// "paramRegion":P} (R: arguments.region; P: the Mcp-Param-Region header), so the
// test can tell what never reached it.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import * as z from 'zod/v4';
import { McpServer, ProtocolError, ProtocolErrorCode, createMcpHandler, inputRequired } from '@modelcontextprotocol/server';
import { toNodeHandler, localhostHostValidation } from '@modelcontextprotocol/node';

const port = Number.parseInt(process.argv[2] ?? '', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: node server.mjs PORT\n');
  process.exit(2);
}

const TTL_MS = 600_000;  // longer than the test runs on a busy machine: the relay drops a binding with its ttl
const tasks = new Map();  // taskId -> { status, createdAt, readyAt, tool }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function status(task) {
  if (task.status === 'working' && Date.now() >= task.readyAt) task.status = 'completed';
  return task.status;
}

function createTask(tool, ms, era) {
  const taskId = randomUUID();
  const now = new Date().toISOString();
  tasks.set(taskId, { status: 'working', createdAt: now, readyAt: Date.now() + ms, tool });
  if (era === 'modern') {
    return {
      resultType: 'task', taskId, status: 'working', createdAt: now, lastUpdatedAt: now,
      ttlMs: TTL_MS, pollIntervalMs: 50,
    };
  }
  // The SDK's 2025 wire seam wants `content` beside another result family.
  return {
    content: [],
    task: { taskId, status: 'working', createdAt: now, lastUpdatedAt: now, ttl: TTL_MS, pollInterval: 50 },
  };
}

function taskState(taskId) {
  const task = tasks.get(taskId);
  if (task === undefined) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Failed to retrieve task: Task not found');
  }
  const now = new Date().toISOString();
  const state = status(task);
  return {
    taskId, status: state, createdAt: task.createdAt, lastUpdatedAt: now, ttlMs: TTL_MS,
    ...(state === 'completed' ? { result: { content: [{ type: 'text', text: 'report ready' }] } } : {}),
  };
}

function build({ era }) {
  const server = new McpServer(
    { name: 'tunnelgate-tasks-server', version: '1.0.0' },
    { capabilities: { logging: {}, extensions: { 'io.modelcontextprotocol/tasks': {} } } },
  );
  server.registerTool('echo', { description: 'Returns its text', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  server.registerTool('countdown', {
    description: 'Streams one progress notification per step',
    inputSchema: z.object({ steps: z.number().int().min(1).max(20), delayMs: z.number().int().min(0).max(5000) }),
  }, async ({ steps, delayMs }, ctx) => {
    const progressToken = ctx.mcpReq?._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      await sleep(delayMs);
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: i, total: steps } });
      }
    }
    return { content: [{ type: 'text', text: `liftoff after ${steps} steps` }] };
  });
  for (const tool of ['report', 'audit']) {
    server.registerTool(tool, { description: 'Starts a long-running report as a task', inputSchema: z.object({ ms: z.number().int().min(0) }) },
      async ({ ms }) => createTask(tool, ms, era));
  }
  server.registerTool('wipe', { description: 'Would erase everything', inputSchema: z.object({ confirm: z.boolean() }) },
    async () => ({ content: [{ type: 'text', text: 'wiped' }] }));

  server.registerTool('locate', {
    description: 'Says where a region is; the region travels in a header too',
    inputSchema: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }), city: z.string().optional() }),
  }, async ({ region }) => ({ content: [{ type: 'text', text: `located in ${region}` }] }));
  server.registerTool('confirm', { description: 'Asks the client to confirm first', inputSchema: z.object({ action: z.string() }) },
    async ({ action }) => inputRequired({
      inputRequests: { confirm: inputRequired.elicit({ message: `Really ${action}?`, requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } }) },
      requestState: 'state-1',
    }));

  const taskParams = { params: z.object({ taskId: z.string() }).passthrough() };
  server.server.setRequestHandler('tasks/get', taskParams, async ({ taskId }) => taskState(taskId));
  server.server.setRequestHandler('tasks/update', taskParams, async ({ taskId }) => {
    taskState(taskId);
    return {};
  });
  server.server.setRequestHandler('tasks/cancel', taskParams, async ({ taskId }) => {
    taskState(taskId);
    tasks.get(taskId).status = 'cancelled';
    return {};
  });
  return server;
}

const handler = toNodeHandler(createMcpHandler(build));
const validateHost = localhostHostValidation();

createServer(async (req, res) => {
  if (!validateHost(req, res)) return;
  if (req.method !== 'POST') {
    handler(req, res);
    return;
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  for (const message of Array.isArray(body) ? body : [body]) {
    if (message && typeof message.method === 'string') {
      process.stdout.write(JSON.stringify({
        event: 'request', method: message.method, taskId: message.params?.taskId ?? null,
        tool: message.params?.name ?? null, mcpName: req.headers['mcp-name'] ?? null,
        region: message.params?.arguments?.region ?? null, paramRegion: req.headers['mcp-param-region'] ?? null,
      }) + '\n');
    }
  }
  handler(req, res, body);
}).listen(port, '127.0.0.1', function listening() {
  process.stdout.write(JSON.stringify({ event: 'listening', port: this.address().port }) + '\n');
});
