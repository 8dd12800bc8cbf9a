// Responses the relay writes itself. The body is plain text and the detail is the only part a
// caller may fill from what a peer sent (a host name, a reason), so control bytes in it are
// replaced: the text stays one line, and nothing in it is markup to any client.
#include "relay/http/hop_by_hop.h"
#include "relay/http/http.h"

namespace tg::http {

std::string_view status_reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown Status";
  }
}

std::string make_error_response(int status, std::string_view detail_text, bool close,
                                std::string_view fields) {
  const std::string_view reason = status_reason(status);
  std::string body;
  detail::append_decimal(body, static_cast<std::uint64_t>(status));
  body.append(" ").append(reason);
  if (!detail_text.empty()) {
    body.append(": ");
    for (char c : detail_text) {
      const auto byte = static_cast<unsigned char>(c);
      body.push_back(byte < 0x20 || byte == 0x7F ? '?' : c);
    }
  }
  body.push_back('\n');

  return make_response(status, "text/plain; charset=utf-8", fields, body, close);
}

std::string make_response(int status, std::string_view content_type, std::string_view fields,
                          std::string_view body, bool close) {
  std::string response = "HTTP/1.1 ";
  detail::append_decimal(response, static_cast<std::uint64_t>(status));
  response.append(" ").append(status_reason(status)).append("\r\n");
  response.append("content-type: ").append(content_type).append("\r\n");
  response.append("cache-control: no-store\r\n");
  response.append(fields);
  response.append("content-length: ");
  detail::append_decimal(response, body.size());
  response.append("\r\n");
  if (close) {
    response.append("connection: close\r\n");
  }
  // Every 503 the relay makes is a limit that clears by itself (connections or memory).
  if (status == 503) response.append("retry-after: 1\r\n");
  response.append("\r\n").append(body);
  return response;
}

}  // namespace tg::http
