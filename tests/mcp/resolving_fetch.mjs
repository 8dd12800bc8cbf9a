// A fetch made of node:http/node:https for the MCP SDK's documented `fetch` options, so that
// name resolution can be overridden per host like curl's --resolve: the URL, the TLS server
// name and the certificate check keep the host, only the TCP connection goes to the address.
// Response bodies stream (Readable.toWeb), which SSE needs.
//
//   const fetch = resolvingFetch(new Map([['notes.tg.test', '127.0.0.1']]), { onResponse });
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import { Readable } from 'node:stream';

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

export function parseResolve(spec) {
  const colon = spec.indexOf(':');
  if (colon <= 0 || !net.isIP(spec.slice(colon + 1))) throw new Error(`bad --resolve ${spec}`);
  return [spec.slice(0, colon).toLowerCase(), spec.slice(colon + 1)];
}

export function resolvingFetch(resolveTable, { onResponse } = {}) {
  function lookup(hostname, options, callback) {
    const address = resolveTable.get(String(hostname).toLowerCase());
    if (address === undefined) return dns.lookup(hostname, options, callback);
    const family = net.isIPv6(address) ? 6 : 4;
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };
  return async function nodeFetch(input, init = {}) {
    const request = new Request(input, init);
    const target = new URL(request.url);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers = Object.fromEntries(request.headers);
    if (body) headers['content-length'] = String(body.length);
    const transport = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        target,
        { method: request.method, headers, agent: agents[target.protocol], lookup, signal: init.signal },
        (res) => {
          onResponse?.(request, res);
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          }
          const nullBody = NULL_BODY_STATUS.has(res.statusCode) || request.method === 'HEAD';
          if (nullBody) res.resume();
          resolve(new Response(nullBody ? null : Readable.toWeb(res), {
            status: res.statusCode, statusText: res.statusMessage, headers: responseHeaders,
          }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}
