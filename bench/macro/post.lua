-- wrk script for the macro benchmark: every request is the same small MCP JSON-RPC POST,
-- sent on keep-alive connections (wrk's default: HTTP/1.1 with no "Connection: close").
--
-- Name resolution: run.sh gives wrk the real URL, https://notes.tg.test:PORT/mcp, so that wrk
-- sends "notes.tg.test" as the TLS server name (SNI, which picks the tunnel in tunnelgate) and
-- "notes.tg.test:PORT" as the Host header. The name is not in any resolver, so when
-- WRK_CONNECT_ADDR is set this script replaces wrk.resolve (the Lua hook wrk calls once to turn
-- the URL's host into addresses) so that the TCP connections go to that address instead:
-- the equivalent of curl's --resolve, with no change to /etc/hosts or the resolver.
--
-- done() prints one machine-readable line, "WRK_RESULT {json}", with exact microsecond
-- percentiles (the human --latency table is printed by wrk as usual).

wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"

local connect_addr = os.getenv("WRK_CONNECT_ADDR")
if connect_addr and connect_addr ~= "" then
   function wrk.resolve(host, service)
      local addrs = wrk.lookup(connect_addr, service)
      for i = #addrs, 1, -1 do
         if not wrk.connect(addrs[i]) then
            table.remove(addrs, i)
         end
      end
      wrk.addrs = addrs
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max,
      e.connect, e.read, e.write, e.status, e.timeout))
end
