// The published service of the path tests: a real web framework (Hono on Node's HTTP server)
// with an admin area and a public one. It appends one JSON line per request it receives to the
// file named on its command line: the request-target as it arrived on the socket, the path Hono
// routed, and which route took it, so a test can tell exactly what reached the service.
//
//   node server.mjs PORT RECORD_FILE      (prints "listening PORT" once it accepts)
import { appendFileSync } from "node:fs";
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const [port, record] = process.argv.slice(2);
const app = new Hono();

function note(c, route) {
  const line = { route, path: c.req.path, target: c.env.incoming.url, method: c.req.method };
  appendFileSync(record, JSON.stringify(line) + "\n");
}

app.all("/admin/*", (c) => {
  note(c, "admin");
  return c.text(`admin area: ${c.req.path}`);
});
app.all("/public/*", (c) => {
  note(c, "public");
  return c.text(`public: ${c.req.path}`);
});
app.notFound((c) => {
  note(c, "none");
  return c.text("not found", 404);
});

serve({ fetch: app.fetch, port: Number(port), hostname: "127.0.0.1" }, (info) => {
  console.log(`listening ${info.port}`);
});
