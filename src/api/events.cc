#include "api/events.h"

#include <algorithm>
#include <atomic>
#include <latch>

#include <fmt/format.h>

#include "api/errors.h"
#include "api/wire.h"
#include "base/log.h"
#include "core/validation.h"

namespace sbx::api {

using namespace std::chrono_literals;

constexpr char kSseRejectedHelp[] = "SSE streams refused at the limit";

struct EventStreams::Frame {
  int64_t version = 0;
  SystemTime updated_at{};  // with version, which record it shows (versions repeat after a forget)
  std::string text;
  // A hold in it expires then: the object, as of a later time, lists one hold fewer.
  std::optional<SystemTime> hold_expires;
};

struct EventStreams::Stream {
  std::string project;
  std::shared_ptr<const Frame> pending;  // newest change not yet written
  int64_t sent_version = -1;
  bool closed = false;
  bool reader_done = false;
  bool shutdown = false;  // end with kShutdownFrame
  std::string session;      // the cookie's session id; "" for a bearer token
  std::optional<SystemTime> warned_for;  // the pauseAt its last pause_pending was about
  bool signed_out = false;  // end with kSignedOutFrame
  bool forgotten = false;   // end with kForgottenFrame
  std::unique_ptr<Timer> wake;
  http_server::StreamWriter* writer = nullptr;  // the connection's, while the stream is open
  bool parked = false;  // the pump waits on `wake` with nothing to write
  SteadyTime parked_until{};  // until when

  // The frame that ends the stream now (shutdown, sign-out), or nullptr.
  const char* Ending() const {
    if (shutdown) return kShutdownFrame;
    if (signed_out) return kSignedOutFrame;
    if (forgotten) return kForgottenFrame;
    return nullptr;
  }
};

// The first bytes of every stream: EventSource retries after 2 s.
constexpr char kConnectedFrame[] = ": connected\nretry: 2000\n\n";

std::string SseFrame(const core::Sandbox& s, const SandboxView& preview, SystemTime now) {
  return fmt::format("event: sandbox\nid: {}\ndata: {}\n\n", s.version,
                     boost::json::serialize(SandboxJson(s, preview, now)));
}

EventStreams::EventStreams(net::io_context& io, Clock& clock, Api& api,
                           lifecycle::Lifecycle& lifecycle, lifecycle::EventBus& bus,
                           Metrics& metrics, EventStreamOptions options)
    : io_(io),
      clock_(clock),
      api_(api),
      lifecycle_(lifecycle),
      bus_(bus),
      metrics_(metrics),
      options_(options) {
  if (options_.fanout_threads > 0) {
    fanout_pool_.emplace(static_cast<size_t>(options_.fanout_threads));
  }
  // Alerted on by its increase: the series exists from the start, at 0.
  metrics_.Inc("sandboxd_sse_rejected_total", {}, 0, kSseRejectedHelp);
  metrics_.AddGaugeCallback("sandboxd_sse_streams", "Open SSE event streams", [this] {
    return std::vector<std::pair<Labels, double>>{{{}, static_cast<double>(open_)}};
  });
  api_.sessions().OnRevoke(
      [this](const std::string& id) { net::post(io_, [this, id] { EndSession(id); }); });
  // Open streams keep a sandbox awake only with presence on; without it they
  // are no reason to name (explain's "awake").
  if (options_.presence) {
    api_.SetViewers([this](const std::string& project) {
      auto it = by_project_.find(project);
      return it == by_project_.end() ? 0 : static_cast<int>(it->second.size());
    });
  }
  // One subscription for every stream: a change costs one lookup here and,
  // when watched, one hop to the I/O thread, however many streams get it.
  subscription_ = bus_.Subscribe([this](const core::Sandbox& s) {
    {
      std::lock_guard lock(watched_mu_);
      if (!watched_.contains(s.project_id)) return;
    }
    net::post(io_, [this, s] { Publish(s); });
  });
  removals_ = bus_.SubscribeRemoved([this](const std::string& project) {
    {
      std::lock_guard lock(watched_mu_);
      if (!watched_.contains(project)) return;
    }
    net::post(io_, [this, project] { EndProject(project); });
  });
}

EventStreams::~EventStreams() {
  bus_.Unsubscribe(subscription_);
  bus_.Unsubscribe(removals_);
  api_.sessions().OnRevoke(nullptr);
  api_.SetViewers(nullptr);
}

std::shared_ptr<const EventStreams::Frame> EventStreams::FrameOf(const core::Sandbox& s) {
  std::shared_ptr<const Frame>& cached = frames_[s.project_id];
  const SystemTime now = clock_.Now();
  const bool same = cached && cached->version == s.version && cached->updated_at == s.updated_at;
  if (same && !(cached->hold_expires && *cached->hold_expires <= now)) return cached;
  auto frame = std::make_shared<const Frame>(Frame{s.version, s.updated_at,
                                                   SseFrame(s, api_.preview(), now),
                                                   NextHoldExpiry(s.holds, now)});
  // A late publish of an older record does not replace a newer frame; a
  // record made again after a forget (versions start over), or the same
  // record once one of its holds has expired, does.
  if (!cached || same || cached->version < s.version || cached->updated_at < s.updated_at) {
    cached = frame;
  }
  return frame;
}

struct EventStreams::FanOut {
  std::shared_ptr<const Frame> frame;
  std::string project;
  // The project's streams when it was published. One that has left since
  // (closes_ moved) is no longer in by_project_; one opened at a freed one's
  // address is a stream of the same project, which may have the frame too.
  std::vector<Stream*> streams;
  uint64_t closes = 0;  // closes_ when it was published
  size_t next = 0;      // the first not yet given the frame
  // A pump parked until later than this is woken after the frame is out, to
  // see the pause warning or heartbeat the change may have brought forward.
  SteadyTime act_by = SteadyTime::max();
};

namespace {

// Below this many sends, handing a share to the fan-out threads costs more
// than it saves.
constexpr size_t kParallelMin = 64;

}  // namespace

void EventStreams::Publish(const core::Sandbox& s) {
  auto it = by_project_.find(s.project_id);
  if (it == by_project_.end()) return;
  auto job = std::make_shared<FanOut>();
  job->frame = FrameOf(s);
  job->project = s.project_id;
  job->streams.assign(it->second.begin(), it->second.end());
  // In address order rather than the set's hash order: streams opened one
  // after another were allocated one after another, as were their sockets in
  // the kernel (and usually the clients' own), so the sends walk memory in
  // order. At 10,000 streams bench/sse.sh measured 10% less CPU on each side
  // this way; the sort costs well under a millisecond.
  std::sort(job->streams.begin(), job->streams.end(), std::less<Stream*>());
  job->closes = closes_;
  job->act_by = ActBy(s);
  // Posted, so that what is queued already (usually the answer to the
  // request that made the change) goes first.
  net::post(io_, [this, job] { FanOutSlice(job); });
}

void EventStreams::FanOutSlice(const std::shared_ptr<FanOut>& job) {
  const std::shared_ptr<const Frame>& frame = job->frame;
  auto watchers = by_project_.find(job->project);
  if (watchers == by_project_.end()) return;  // every stream has left
  const bool some_left = closes_ != job->closes;
  // Streams whose pump is parked with nothing to write (and not about to end
  // the stream): the frame goes out from here, one send each, with no
  // wake-up, timer or copy.
  std::vector<Stream*> now;
  const size_t slice = std::max<size_t>(1, options_.fanout_slice);
  const size_t end = std::min(job->streams.size(), job->next + slice);
  for (; job->next < end; ++job->next) {
    Stream* st = job->streams[job->next];
    if (some_left && !watchers->second.contains(st)) continue;
    if (st->closed || frame->version <= st->sent_version) continue;
    if (st->pending && st->pending->version >= frame->version) continue;
    if (st->parked && !st->pending && st->Ending() == nullptr) {
      now.push_back(st);
      continue;
    }
    st->pending = frame;
    st->wake->Cancel();
  }
  const std::vector<char> written = WriteNow(now, frame->text);
  for (size_t i = 0; i < now.size(); ++i) {
    Stream& st = *now[i];
    if (written[i]) {
      st.sent_version = frame->version;
      // Only what the socket did not take at once is left to the pump, which
      // sends it under the write deadline.
      if (st.writer->backlog() || job->act_by < st.parked_until) st.wake->Cancel();
    } else {
      st.pending = frame;
      st.wake->Cancel();
    }
  }
  if (job->next < job->streams.size()) net::post(io_, [this, job] { FanOutSlice(job); });
}

std::vector<char> EventStreams::WriteNow(const std::vector<Stream*>& streams,
                                         std::string_view text) {
  std::vector<char> written(streams.size());
  const size_t helpers =
      fanout_pool_ && streams.size() >= kParallelMin ? static_cast<size_t>(options_.fanout_threads)
                                                     : 0;
  // Every thread takes the next run of streams until none is left, so none
  // waits while another (descheduled, say) still has a share.
  constexpr size_t kRun = 64;
  std::atomic<size_t> next{0};
  auto take = [&] {
    for (size_t begin = next.fetch_add(kRun); begin < streams.size();
         begin = next.fetch_add(kRun)) {
      const size_t end = std::min(streams.size(), begin + kRun);
      for (size_t i = begin; i < end; ++i) written[i] = streams[i]->writer->TryWrite(text);
    }
  };
  // The I/O thread waits for its helpers: they only make non-blocking sends,
  // each on a socket that nothing else touches while it waits.
  std::latch done(static_cast<std::ptrdiff_t>(helpers));
  for (size_t k = 0; k < helpers; ++k) {
    net::post(*fanout_pool_, [&take, &done] {
      take();
      done.count_down();
    });
  }
  take();
  done.wait();
  return written;
}

void EventStreams::Register(http_server::Router& router) {
  router.AddStream(
      http::verb::get, "/api/projects/{projectId}/sandbox/events",
      [this](http_server::RequestContext& ctx) { return Gate(ctx); },
      [this](http_server::RequestContext& ctx, http_server::StreamWriter& w) {
        return Serve(ctx, w);
      });
  // Without follow, Api's plain route answers.
  router.AddStream(
      http::verb::get, "/api/projects/{projectId}/sandbox/logs",
      [this](http_server::RequestContext& ctx) { return GateLogs(ctx); },
      [this](http_server::RequestContext& ctx, http_server::StreamWriter& w) {
        return ServeLogs(ctx, w);
      },
      [](const http_server::RequestContext& ctx) { return ctx.query.contains("follow"); });
}

net::awaitable<std::optional<http_server::Response>> EventStreams::Gate(
    http_server::RequestContext& ctx) {
  // Awaited into a local: GCC 12 mis-compiles co_await in a condition.
  Status allowed = co_await api_.CheckRequest(ctx);
  if (!allowed.ok()) co_return ToHttp(ctx.request, allowed);
  const std::string project = ctx.params["projectId"];
  if (auto s = lifecycle_.Get(project); !s.ok()) co_return ToHttp(ctx.request, s.error());
  if (shutting_down_) {
    co_return http_server::ErrorResponse(ctx.request, http::status::service_unavailable,
                                         "unavailable", "server shutting down");
  }
  co_return Reserve(ctx);
}

std::optional<http_server::Response> EventStreams::Reserve(http_server::RequestContext& ctx) {
  // Streams being opened count too: between this check and Track the
  // connection still writes the stream's head (and a request that came with
  // a body reads it), and others must not all pass meanwhile.
  if (open_ + *reserved_ >= options_.max_streams) {
    metrics_.Inc("sandboxd_sse_rejected_total", {}, 1, kSseRejectedHelp);
    return http_server::ErrorResponse(
        ctx.request, http::status::service_unavailable, "unavailable",
        fmt::format("too many event streams (limit {}); poll the status instead",
                    options_.max_streams));
  }
  ++*reserved_;
  // Released when the request ends without a stream, or by Track.
  ctx.hold = std::shared_ptr<void>(nullptr, [reserved = reserved_](void*) { --*reserved; });
  return std::nullopt;
}

net::awaitable<void> EventStreams::Heartbeat(const std::string& project, bool closing) {
  // Record the attempt first: a paused sandbox gets no heartbeat, and the
  // stream loop must still wait a full interval before asking again. Not
  // for the last viewer's: no stream loop asks again, and the entry would
  // outlive every stream of the project.
  if (!closing) last_heartbeat_[project] = clock_.SteadyNow();
  auto s = lifecycle_.Get(project);
  if (!s.ok()) co_return;
  if (s->status != core::SandboxStatus::kRunning && s->status != core::SandboxStatus::kStarting) {
    co_return;
  }
  Status st = co_await lifecycle_.RecordActivity(project, core::EventSource::kPresence);
  if (!st.ok()) SBX_LOG_WARN("presence of {}{}: {}", project, closing ? " (last viewer left)" : "",
                             st.ToString());
}

namespace {

// A reconnecting log stream goes on after its Last-Event-ID (a cursor).
Status ResumeAfter(const http_server::Request& req, provider::OutputQuery& query) {
  const std::string_view last = req["Last-Event-ID"];
  if (last.empty()) return OkStatus();
  if (last.size() > 100) return InvalidArgument("Last-Event-ID is not a log cursor");
  query.after = std::string(last);
  return OkStatus();
}

// The Last-Event-ID request header as a version, or -1.
int64_t LastEventId(const http_server::Request& req) {
  return ParseInteger(req["Last-Event-ID"]).value_or(-1);
}

}  // namespace

std::shared_ptr<EventStreams::Stream> EventStreams::Track(const std::string& project,
                                                          http_server::StreamWriter& writer) {
  auto st = std::make_shared<Stream>();
  st->project = project;
  st->wake = clock_.NewTimer(io_.get_executor());
  st->writer = &writer;
  ++open_;
  live_[st.get()] = st;
  // The reader notices the client going away.
  net::co_spawn(
      io_,
      [st, &writer]() -> net::awaitable<void> {
        co_await writer.WaitClosed();
        st->closed = true;
        st->reader_done = true;
        st->wake->Cancel();
      },
      net::detached);
  return st;
}

net::awaitable<void> EventStreams::Untrack(Stream& st, http_server::StreamWriter& writer) {
  live_.erase(&st);
  writer.Close();
  while (!st.reader_done) (void)co_await st.wake->WaitUntil(clock_.SteadyNow() + 1s);
  --open_;
}

net::awaitable<bool> EventStreams::KeepAlive(Stream& st, http_server::StreamWriter& writer) {
  if (!st.session.empty()) {
    // Revoked on another replica, or expired. A store that cannot answer
    // (kUnavailable) ends nothing.
    Status valid = co_await api_.sessions().Check(st.session);
    if (valid.code() == StatusCode::kUnauthenticated) {
      st.signed_out = true;
      co_return true;
    }
  }
  co_return co_await writer.Write(": keep-alive\n\n");
}

std::shared_ptr<EventStreams::Stream> EventStreams::Open(const std::string& project,
                                                         http_server::StreamWriter& writer) {
  std::shared_ptr<Stream> st = Track(project, writer);
  auto [watchers, first] = by_project_.try_emplace(project);
  watchers->second.insert(st.get());
  if (first) {
    std::lock_guard lock(watched_mu_);
    watched_.insert(project);
  }
  return st;
}

SteadyTime EventStreams::NextHeartbeat(const std::string& project, SteadyTime now) const {
  auto cur = lifecycle_.Get(project);
  const auto timeout = cur.ok() ? std::chrono::seconds(cur->idle_timeout_s) : 60s;
  const std::chrono::steady_clock::duration interval =
      std::clamp<std::chrono::steady_clock::duration>(timeout / 3, 200ms,
                                                      std::max<std::chrono::steady_clock::duration>(
                                                          options_.max_presence_interval, 200ms));
  auto it = last_heartbeat_.find(project);
  return it == last_heartbeat_.end() ? now : it->second + interval;
}

std::optional<SystemTime> EventStreams::WarnAt(const core::Sandbox& s) const {
  if (options_.pause_warning <= std::chrono::milliseconds(0)) return std::nullopt;
  auto pause_at = core::PauseAt(s);
  if (!pause_at) return std::nullopt;
  const SystemTime warn_at = *pause_at - options_.pause_warning;
  // Only after as long an idle stretch as the warning itself.
  if (warn_at <= s.last_activity_at) return std::nullopt;
  return warn_at;
}

SteadyTime EventStreams::ActBy(const core::Sandbox& s) const {
  const SteadyTime now = clock_.SteadyNow();
  SteadyTime act_by = SteadyTime::max();
  if (auto warn_at = WarnAt(s)) act_by = now + std::max(*warn_at - clock_.Now(), {});
  if (options_.presence) act_by = std::min(act_by, NextHeartbeat(s.project_id, now));
  return act_by;
}

EventStreams::Warning EventStreams::PauseWarning(Stream& st) const {
  auto s = lifecycle_.Get(st.project);
  if (!s.ok()) return {};
  const std::optional<SystemTime> warn_at = WarnAt(*s);
  if (!warn_at) return {};
  const SystemTime pause_at = *warn_at + options_.pause_warning;
  if (st.warned_for == pause_at) return {};
  const SystemTime now = clock_.Now();
  if (now >= pause_at) return {};
  // With presence, this project's next heartbeat (every third of the idle
  // timeout) comes before the pause and moves it: no pause is coming, and a
  // viewer is not warned of one (Pump wakes for the heartbeat).
  const SteadyTime steady_now = clock_.SteadyNow();
  if (options_.presence && NextHeartbeat(st.project, steady_now) < steady_now + (pause_at - now)) {
    return {};
  }
  if (now < *warn_at) return {.due = steady_now + (*warn_at - now)};
  st.warned_for = pause_at;
  boost::json::object o;
  o["projectId"] = st.project;
  o["pauseAt"] = FormatRfc3339(pause_at);
  o["secondsLeft"] = std::chrono::ceil<std::chrono::seconds>(pause_at - now).count();
  return {.frame = fmt::format("event: pause_pending\ndata: {}\n\n", boost::json::serialize(o))};
}

net::awaitable<void> EventStreams::Pump(Stream& st, http_server::StreamWriter& writer) {
  SteadyTime next_keepalive = clock_.SteadyNow() + options_.keepalive;
  while (!st.closed) {
    if (const char* end = st.Ending()) {
      (void)co_await writer.Write(end);
      co_return;
    }
    if (writer.backlog()) {
      const bool flushed = co_await writer.Flush();
      if (!flushed) co_return;
      continue;
    }
    if (st.pending) {
      std::shared_ptr<const Frame> frame = std::move(st.pending);
      if (frame->version > st.sent_version) {
        st.sent_version = frame->version;
        if (!co_await writer.Write(frame->text)) co_return;
      }
      continue;
    }
    const SteadyTime now = clock_.SteadyNow();
    if (now >= next_keepalive) {
      next_keepalive = now + options_.keepalive;
      if (!co_await KeepAlive(st, writer)) co_return;
      continue;
    }
    SteadyTime deadline = next_keepalive;
    Warning warning = PauseWarning(st);
    if (!warning.frame.empty()) {
      metrics_.Inc("sandboxd_pause_warnings_total", {}, 1,
                   "pause_pending frames sent on event streams");
      if (!co_await writer.Write(warning.frame)) co_return;
      continue;
    }
    if (warning.due) deadline = std::min(deadline, *warning.due);
    if (options_.presence) {
      const SteadyTime due = NextHeartbeat(st.project, now);
      if (due <= now) {
        co_await Heartbeat(st.project, false);
        continue;
      }
      deadline = std::min(deadline, due);
    }
    st.parked = true;
    st.parked_until = deadline;
    (void)co_await st.wake->WaitUntil(deadline);
    st.parked = false;
  }
}

net::awaitable<void> EventStreams::Serve(http_server::RequestContext& ctx,
                                         http_server::StreamWriter& writer) {
  std::shared_ptr<Stream> st = Open(ctx.params["projectId"], writer);
  ctx.hold.reset();  // counted in open_ now
  st->session = Api::SessionOf(ctx.request);
  int64_t last_event_id = LastEventId(ctx.request);
  auto cur = lifecycle_.Get(st->project);
  // An id above the record's version is an older record's (the project was
  // forgotten and made again), or one this replica has not loaded yet: the
  // record held goes out either way.
  if (cur.ok() && last_event_id > cur->version) last_event_id = -1;
  if (cur.ok() && cur->version > last_event_id) st->pending = FrameOf(*cur);
  st->sent_version = last_event_id;
  if (!co_await writer.Write(kConnectedFrame)) st->closed = true;
  if (options_.presence) co_await Heartbeat(st->project, false);
  co_await Pump(*st, writer);
  co_await Close(st, writer);
}

net::awaitable<void> EventStreams::Close(std::shared_ptr<Stream> st,
                                         http_server::StreamWriter& writer) {
  auto watchers = by_project_.find(st->project);
  watchers->second.erase(st.get());
  ++closes_;
  const bool last = watchers->second.empty();
  if (last) {
    by_project_.erase(watchers);
    frames_.erase(st->project);
    std::lock_guard lock(watched_mu_);
    watched_.erase(st->project);
  }
  co_await Untrack(*st, writer);
  if (last) {
    last_heartbeat_.erase(st->project);
    // The last viewer left: the idle clock starts now.
    if (options_.presence) co_await Heartbeat(st->project, true);
  }
}

void EventStreams::EndProject(const std::string& project) {
  frames_.erase(project);
  auto it = by_project_.find(project);
  if (it == by_project_.end()) return;
  for (Stream* st : it->second) {
    st->forgotten = true;
    st->pending.reset();  // the forgotten record's
    st->wake->Cancel();
  }
}

void EventStreams::EndSession(const std::string& id) {
  for (auto& [ptr, weak] : live_) {
    if (auto st = weak.lock(); st && st->session == id) {
      st->signed_out = true;
      st->wake->Cancel();
    }
  }
}

net::awaitable<std::optional<http_server::Response>> EventStreams::GateLogs(
    http_server::RequestContext& ctx) {
  std::optional<http_server::Response> refused = co_await Gate(ctx);
  if (refused) co_return refused;  // the reservation, if any, goes with ctx
  auto query = ParseLogsQuery(ctx.query, /*follow=*/true);
  if (!query.ok()) co_return ToHttp(ctx.request, query.error());
  if (Status resumed = ResumeAfter(ctx.request, *query); !resumed.ok()) {
    co_return ToHttp(ctx.request, resumed);
  }
  // A read now, so that a provider without output (409) or a bad cursor
  // (400, the query's or a reconnect's Last-Event-ID) is answered before the
  // stream starts: an EventSource stops at an error status, where an
  // `end` event would only bring it back with the same cursor.
  auto probe = co_await lifecycle_.ReadOutput(ctx.params["projectId"], *query);
  if (!probe.ok()) co_return ToHttp(ctx.request, probe.error());
  co_return std::nullopt;
}

net::awaitable<void> EventStreams::ServeLogs(http_server::RequestContext& ctx,
                                             http_server::StreamWriter& writer) {
  std::shared_ptr<Stream> st = Track(ctx.params["projectId"], writer);
  ctx.hold.reset();  // counted in open_ now
  st->session = Api::SessionOf(ctx.request);
  provider::OutputQuery query = *ParseLogsQuery(ctx.query, /*follow=*/true);
  (void)ResumeAfter(ctx.request, query);  // GateLogs checked it
  bool first = true;
  SteadyTime next_keepalive = clock_.SteadyNow() + options_.keepalive;
  SteadyTime next_read = clock_.SteadyNow();
  if (!co_await writer.Write(kConnectedFrame)) st->closed = true;
  while (!st->closed) {
    if (const char* end = st->Ending()) {
      (void)co_await writer.Write(end);
      break;
    }
    const SteadyTime now = clock_.SteadyNow();
    if (now >= next_read) {
      auto chunk = co_await lifecycle_.ReadOutput(st->project, query);
      if (!chunk.ok()) {
        // The sandbox went (killed, or replaced): say why and end.
        boost::json::object e{{"code", std::string(StatusCodeName(chunk.error().code()))},
                              {"message", chunk.error().message()}};
        (void)co_await writer.Write(
            fmt::format("event: end\ndata: {}\n\n", boost::json::serialize(e)));
        break;
      }
      next_read = clock_.SteadyNow() + options_.log_poll;
      const bool news = first || !chunk->lines.empty() || chunk->skipped;
      first = false;
      query = {.after = chunk->cursor};
      if (news) {
        const std::string cursor = chunk->cursor;
        if (!co_await writer.Write(fmt::format("event: lines\nid: {}\ndata: {}\n\n", cursor,
                                               OutputJson(std::move(*chunk))))) {
          break;
        }
      }
      continue;
    }
    if (now >= next_keepalive) {
      next_keepalive = now + options_.keepalive;
      if (!co_await KeepAlive(*st, writer)) break;
      continue;
    }
    (void)co_await st->wake->WaitUntil(std::min(next_read, next_keepalive));
  }
  co_await Untrack(*st, writer);
}

void EventStreams::Shutdown() {
  net::post(io_, [this] {
    shutting_down_ = true;
    for (auto& [ptr, weak] : live_) {
      if (auto st = weak.lock()) {
        st->shutdown = true;
        st->wake->Cancel();
      }
    }
  });
}

}  // namespace sbx::api
