// An MCP Streamable HTTP server built from the official TypeScript SDK, the publisher's
// local service in the smoke test (tunnelgate forwards https://notes.DOMAIN/mcp to it).
//
//   node server.mjs PORT        (PORT 0 picks a free port)
//
// Listens on 127.0.0.1:PORT, path /mcp, stateful sessions as in the SDK's
// simpleStreamableHttp example, with three tools:
//   echo      { text }            -> the text back, as one text content item;
//   countdown { steps, delayMs }  -> one notifications/progress (when the caller asked for
//                                    progress) and one notifications/message per step, each
//                                    sent on the request's own SSE stream, delayMs apart;
//                                    then the text result "liftoff after N steps";
//   wipe      { confirm }         -> "wiped" (the tool a governance policy keeps out of reach).
// The Express app comes from the SDK's createMcpExpressApp(), so the SDK's own DNS-rebinding
// protection is on: only Host localhost / 127.0.0.1 / [::1] is accepted (tunnelgate rewrites
// Host to localhost:PORT for exactly this).
// Prints one JSON line {"event":"listening","port":N} on stdout when ready.
import { randomUUID } from 'node:crypto';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const port = Number.parseInt(process.argv[2] ?? '', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: node server.mjs PORT\n');
  process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function buildServer() {
  const server = new McpServer(
    { name: 'tunnelgate-smoke-server', version: '1.0.0' },
    { capabilities: { logging: {} } },
  );

  server.registerTool(
    'echo',
    {
      description: 'Returns its text argument unchanged',
      inputSchema: { text: z.string().describe('Text to echo') },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );

  server.registerTool(
    'countdown',
    {
      description: 'Streams a progress and a log notification per step, then returns a result',
      inputSchema: {
        steps: z.number().int().min(1).max(20).default(1).describe('Notifications to send'),
        delayMs: z.number().int().min(0).max(5000).default(300).describe('Pause after each one'),
      },
    },
    async ({ steps, delayMs }, extra) => {
      const progressToken = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress: i, total: steps, message: `T-${steps - i + 1}` },
          });
        }
        await extra.sendNotification({
          method: 'notifications/message',
          params: { level: 'info', logger: 'countdown', data: `step ${i}/${steps}` },
        });
        await sleep(delayMs);
      }
      return { content: [{ type: 'text', text: `liftoff after ${steps} steps` }] };
    },
  );
  // Never callable through the relay in the governance test: its policy leaves it out.
  server.registerTool(
    'wipe',
    {
      description: 'Would erase everything (the governance test proves it cannot be reached)',
      inputSchema: { confirm: z.boolean().describe('Really?') },
    },
    async () => ({ content: [{ type: 'text', text: 'wiped' }] }),
  );
  return server;
}

const app = createMcpExpressApp();
const sessions = new Map(); // session id -> transport

function jsonRpcError(res, status, code, message) {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

app.post('/mcp', async (req, res) => {
  try {
    const sessionId = req.headers['mcp-session-id'];
    let transport = sessionId ? sessions.get(sessionId) : undefined;
    if (!transport) {
      if (sessionId) return jsonRpcError(res, 404, -32001, 'Session not found');
      if (!isInitializeRequest(req.body)) {
        return jsonRpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await buildServer().connect(transport);
    }
    await transport.handleRequest(req, res, req.body);
  } catch (error) {
    process.stderr.write(`error handling POST /mcp: ${error?.stack ?? error}\n`);
    if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal server error');
  }
});

// GET opens the session's standalone SSE stream; DELETE ends the session.
const sessionRequest = async (req, res) => {
  const transport = sessions.get(req.headers['mcp-session-id']);
  if (!transport) return jsonRpcError(res, 400, -32000, 'Invalid or missing session ID');
  try {
    await transport.handleRequest(req, res);
  } catch (error) {
    process.stderr.write(`error handling ${req.method} /mcp: ${error?.stack ?? error}\n`);
    if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal server error');
  }
};
app.get('/mcp', sessionRequest);
app.delete('/mcp', sessionRequest);

const httpServer = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port: httpServer.address().port }) + '\n');
});
httpServer.on('error', (error) => {
  process.stderr.write(`listen failed: ${error.message}\n`);
  process.exit(1);
});

async function shutdown() {
  for (const transport of sessions.values()) await transport.close().catch(() => {});
  httpServer.closeAllConnections?.();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
