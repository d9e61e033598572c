//===- HttpServer.cpp - HTTP/1.1 front end of `serve` ---------------------===//
#include "HttpServer.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace ingot::rt::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;

/// Deadlines of one read (a whole request) and one write.
constexpr std::chrono::seconds kReadTimeout{60};
constexpr std::chrono::seconds kWriteTimeout{60};
/// How often a waiting connection checks whether its client is gone.
constexpr std::chrono::milliseconds kPollInterval{50};

/// Equal strings, in a time that depends on the expected key's length only
/// (not on where a guess first differs).
bool sameKey(std::string_view given, std::string_view key) {
  unsigned char diff = given.size() != key.size();
  for (size_t i = 0; i < key.size(); ++i)
    diff |= (unsigned char)((i < given.size() ? given[i] : 0) ^ key[i]);
  return diff == 0;
}

class Connection {
public:
  Connection(std::shared_ptr<ServerState> state, tcp protocol, int fd)
      : state(std::move(state)), stream(ioc) {
    beast::error_code ec;
    stream.socket().assign(protocol, fd, ec);
  }

  void serve() {
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kMaxHeaderBytes);
      parser.body_limit(kMaxBodyBytes);
      stream.expires_after(kReadTimeout);
      beast::error_code ec = await([&](auto handler) {
        http::async_read(stream, buffer, parser, handler);
      });
      if (ec == http::error::header_limit)
        return refuse(431, "the request headers are larger than " +
                               std::to_string(kMaxHeaderBytes) + " bytes");
      if (ec == http::error::body_limit)
        return refuse(413, "the request body is larger than " +
                               std::to_string(kMaxBodyBytes) + " bytes");
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == net::error::connection_reset || ec == net::error::eof)
        return;
      if (ec)
        return refuse(400, "malformed HTTP request: " + ec.message());
      Request request = parser.release();
      if (!handle(request) || !request.keep_alive())
        return close();
    }
  }

private:
  /// Runs one asynchronous operation to its end on this connection's own
  /// io_context (so the stream's deadline applies).
  template <class Start> beast::error_code await(Start start) {
    beast::error_code result;
    start([&](beast::error_code ec, std::size_t) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  bool write(http::response<http::string_body> &response) {
    response.prepare_payload();
    stream.expires_after(kWriteTimeout);
    return !await(
        [&](auto handler) { http::async_write(stream, response, handler); });
  }

  bool send(const Request &request, int status, std::string body,
            const char *retryAfter = nullptr,
            const char *contentType = "application/json") {
    state->metrics.countRequest(route, status);
    http::response<http::string_body> response{http::status(status),
                                               request.version()};
    response.set(http::field::server, "ingot");
    response.set(http::field::content_type, contentType);
    if (retryAfter)
      response.set(http::field::retry_after, retryAfter);
    if (status == 401)
      response.set(http::field::www_authenticate, "Bearer");
    response.keep_alive(request.keep_alive());
    response.body() = std::move(body);
    return write(response);
  }

  bool sendError(const Request &request, int status, const std::string &what,
                 const char *retryAfter = nullptr) {
    return send(request, status, errorBody(status, what), retryAfter);
  }

  /// An error for a request that could not be read whole, then the end of
  /// the connection.
  void refuse(int status, const std::string &what) {
    state->metrics.countRequest(Route::Other, status);
    http::response<http::string_body> response{http::status(status), 11};
    response.set(http::field::content_type, "application/json");
    response.keep_alive(false);
    response.body() = errorBody(status, what);
    write(response);
    close();
  }

  /// Closes after the client has seen the response: the unread rest of an
  /// oversize body is drained for a moment, so the close does not turn
  /// into a reset that loses the response.
  void close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    char sink[16384];
    uint64_t drained = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (drained < (64u << 20)) {
      size_t got = 0;
      ec = await([&](auto handler) {
        stream.async_read_some(net::buffer(sink),
                               [&, handler](beast::error_code e, size_t n) {
                                 got = n;
                                 handler(e, n);
                               });
      });
      if (ec)
        break;
      drained += got;
    }
    stream.socket().close(ec);
  }

  /// The client closed its side (or the connection broke).
  bool clientGone() {
    pollfd p{stream.socket().native_handle(), POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 &&
           (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

  bool authorized(const Request &request) {
    if (state->apiKey.empty())
      return true;
    auto it = request.find(http::field::authorization);
    if (it == request.end())
      return false;
    std::string_view value(it->value().data(), it->value().size());
    constexpr std::string_view bearer = "Bearer ";
    if (value.size() < bearer.size() ||
        !beast::iequals(value.substr(0, bearer.size()), bearer))
      return false;
    return sameKey(value.substr(bearer.size()), state->apiKey);
  }

  /// Answers one request; false when the connection must close.
  bool handle(const Request &request) {
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    route = routeOf(target);
    const http::verb method = request.method();
    if (target == "/health") {
      if (method != http::verb::get)
        return sendError(request, 405, "use GET for /health");
      if (!state->ready.load(std::memory_order_acquire))
        return sendError(request, 503, "Loading model", "1");
      return send(request, 200, "{\"status\":\"ok\"}");
    }
    if (!authorized(request))
      return sendError(request, 401, "Invalid API Key");
    if (route == Route::Metrics) {
      if (method != http::verb::get)
        return sendError(request, 405, "use GET for /metrics");
      return send(request, 200, state->metrics.render(gauges()), nullptr,
                  "text/plain; version=0.0.4; charset=utf-8");
    }
    if (route == Route::Models) {
      if (method != http::verb::get)
        return sendError(request, 405, "use GET for /v1/models");
      int64_t context = state->ready.load(std::memory_order_acquire)
                            ? state->defaults.contextLength
                            : 0;
      return send(request, 200,
                  modelsBody(state->model, state->created, context));
    }
    Endpoint endpoint;
    if (route == Route::ChatCompletions)
      endpoint = Endpoint::ChatCompletions;
    else if (route == Route::Completions)
      endpoint = Endpoint::Completions;
    else
      return sendError(request, 404,
                       "no such endpoint: " + std::string(target));
    if (method != http::verb::post)
      return sendError(request, 405, "use POST for " + std::string(target));
    return complete(request, endpoint);
  }

  bool complete(const Request &request, Endpoint endpoint) {
    if (!state->ready.load(std::memory_order_acquire))
      return sendError(request, 503, "Loading model", "1");
    GenerationRequest generation;
    ApiError error;
    if (!parseRequest(endpoint, request.body(), state->defaults, generation,
                      error))
      return sendError(request, error.status, error.message);
    // The usage chunk ends every stream, so /metrics counts its tokens; it
    // reaches the client only when asked for.
    const bool clientWantsUsage = generation.includeUsage;
    generation.includeUsage = generation.stream;
    auto job = std::make_shared<Job>(std::move(generation));
    if (!state->queue.push(job))
      return sendError(request, 429,
                       "the server is busy: " + std::to_string(kMaxQueuedJobs) +
                           " requests are waiting; retry later",
                       "1");
    state->metrics.jobAccepted();
    struct Done {
      Metrics &metrics;
      ~Done() { metrics.jobDone(); }
    } done{state->metrics};
    JobEvent event;
    if (!nextEvent(*job, event))
      return false;
    if (event.kind == JobEvent::Kind::Response) {
      if (event.status == 200) {
        ChunkFacts facts = readChunkFacts(event.body);
        if (facts.usage)
          state->metrics.answered({facts.promptTokens, facts.completionTokens,
                                   job->promptSeconds, job->generationSeconds});
      }
      return send(request, event.status, std::move(event.body));
    }
    return streamEvents(request, *job, std::move(event), clientWantsUsage);
  }

  MetricsGauges gauges() {
    MetricsGauges g;
    g.queueDepth = state->queue.depth();
    g.connections = uint64_t(std::max(state->connections.load(), 0));
    g.ready = state->ready.load(std::memory_order_acquire);
    g.contextLength = g.ready ? state->defaults.contextLength : 0;
    if (g.ready && state->kvTokensInUse) {
      g.kvTokens = state->kvTokensInUse->load(std::memory_order_relaxed);
      g.kvCapacity = state->kvCapacity;
    }
    return g;
  }

  /// The job's next event; false (and the job cancelled) when the client
  /// went away first. `beforeAnswer`: no status was sent yet, so the
  /// request counts as abandoned.
  bool nextEvent(Job &job, JobEvent &event, bool beforeAnswer = true) {
    while (!job.next(event, kPollInterval))
      if (clientGone()) {
        job.cancelled = true;
        if (beforeAnswer)
          state->metrics.countRequest(route, kClientClosedStatus);
        return false;
      }
    return true;
  }

  /// Server-sent events: `first` and the job's further chunks, each as
  /// "data: {...}", then "data: [DONE]" (or the error that ended it).
  bool streamEvents(const Request &request, Job &job, JobEvent first,
                    bool clientWantsUsage) {
    const bool chunked = request.version() >= 11;
    http::response<http::empty_body> response{http::status::ok,
                                              request.version()};
    response.set(http::field::server, "ingot");
    response.set(http::field::content_type, "text/event-stream");
    response.set(http::field::cache_control, "no-cache");
    response.keep_alive(chunked && request.keep_alive());
    response.chunked(chunked);
    state->metrics.countRequest(route, 200);
    http::response_serializer<http::empty_body> serializer{response};
    stream.expires_after(kWriteTimeout);
    if (await([&](auto handler) {
          http::async_write_header(stream, serializer, handler);
        })) {
      job.cancelled = true;
      return false;
    }
    auto sendData = [&](const std::string &data) {
      std::string frame = "data: " + data + "\n\n";
      stream.expires_after(kWriteTimeout);
      beast::error_code ec = await([&](auto handler) {
        if (chunked)
          net::async_write(stream, http::make_chunk(net::buffer(frame)),
                           handler);
        else
          net::async_write(stream, net::buffer(frame), handler);
      });
      return !ec;
    };
    // The phases for /metrics: the worker's start to the first text chunk
    // (prompt), from there to the finish chunk (generation).
    using Clock = std::chrono::steady_clock;
    Clock::time_point firstText, finished;
    bool sawText = false, sawFinish = false;
    ChunkFacts usage;
    JobEvent event = std::move(first);
    for (;;) {
      if (event.kind == JobEvent::Kind::Response) {
        if (!sendData(event.status == 200 ? std::string("[DONE]") : event.body))
          return false;
        break;
      }
      ChunkFacts facts = readChunkFacts(event.body);
      if (facts.text && !sawText) {
        firstText = Clock::now();
        sawText = true;
      }
      if (facts.finish && !sawFinish) {
        finished = Clock::now();
        sawFinish = true;
      }
      if (facts.usage)
        usage = facts;
      const bool forward = !facts.usage || clientWantsUsage;
      if ((forward && !sendData(event.body)) || clientGone()) {
        job.cancelled = true;
        return false;
      }
      if (!nextEvent(job, event, /*beforeAnswer=*/false))
        return false;
    }
    if (event.status == 200 && usage.usage) {
      AnswerRecord record{usage.promptTokens, usage.completionTokens, -1, -1};
      if (sawText && sawFinish) {
        record.promptSeconds =
            std::chrono::duration<double>(firstText - job.startedAt).count();
        record.generationSeconds =
            std::chrono::duration<double>(finished - firstText).count();
      }
      state->metrics.answered(record);
    }
    if (!chunked)
      return false;
    stream.expires_after(kWriteTimeout);
    return !await([&](auto handler) {
      net::async_write(stream, http::make_chunk_last(), handler);
    });
  }

  std::shared_ptr<ServerState> state;
  Route route = Route::Other; ///< of the request being answered
  net::io_context ioc{1};
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

/// A connection beyond kMaxConnections: a short 503 without a thread.
void turnAway(ServerState &state, int fd) {
  state.metrics.countRequest(Route::Other, 503);
  static const char response[] =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Retry-After: 1\r\nConnection: close\r\nContent-Length: 94\r\n\r\n"
      "{\"error\":{\"message\":\"too many open connections\",\"type\":"
      "\"unavailable_error\",\"code\":503}}";
  (void)::send(fd, response, sizeof(response) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  ::close(fd);
}

void acceptLoop(std::shared_ptr<ServerState> state,
                std::shared_ptr<net::io_context> ioc,
                std::shared_ptr<tcp::acceptor> acceptor) {
  const tcp protocol = acceptor->local_endpoint().protocol();
  for (;;) {
    beast::error_code ec;
    tcp::socket socket(*ioc);
    acceptor->accept(socket, ec);
    if (ec) {
      if (ec == net::error::bad_descriptor ||
          ec == net::error::invalid_argument)
        return;
      // Out of descriptors and the like: wait instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    int fd = socket.release(ec);
    if (ec)
      continue;
    if (state->connections.fetch_add(1) >= kMaxConnections) {
      state->connections.fetch_sub(1);
      turnAway(*state, fd);
      continue;
    }
    try {
      std::thread([state, protocol, fd] {
        try {
          Connection(state, protocol, fd).serve();
        } catch (const std::exception &e) {
          std::fprintf(stderr, "serve: connection dropped: %s\n", e.what());
        }
        state->connections.fetch_sub(1);
      }).detach();
    } catch (const std::exception &) {
      state->connections.fetch_sub(1);
      turnAway(*state, fd);
    }
  }
}

} // namespace

bool startHttpServer(std::shared_ptr<ServerState> state,
                     const std::string &host, int64_t port, uint16_t &boundPort,
                     std::string &error) {
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(host, ec);
  if (ec) {
    error = "--host: '" + host +
            "' is not a numeric IPv4 or IPv6 address (such as 127.0.0.1, "
            "::1 or 0.0.0.0)";
    return false;
  }
  auto ioc = std::make_shared<net::io_context>(1);
  auto acceptor = std::make_shared<tcp::acceptor>(*ioc);
  tcp::endpoint endpoint(address, uint16_t(port));
  if (acceptor->open(endpoint.protocol(), ec) ||
      acceptor->set_option(net::socket_base::reuse_address(true), ec) ||
      acceptor->bind(endpoint, ec) ||
      acceptor->listen(net::socket_base::max_listen_connections, ec)) {
    error = "serve: cannot listen on " + host + " port " +
            std::to_string(port) + ": " + ec.message();
    return false;
  }
  boundPort = acceptor->local_endpoint().port();
  try {
    std::thread(acceptLoop, state, ioc, acceptor).detach();
  } catch (const std::exception &e) {
    error = std::string("serve: cannot start the accept thread: ") + e.what();
    return false;
  }
  return true;
}

} // namespace ingot::rt::server
