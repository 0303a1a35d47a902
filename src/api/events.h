// EventStreams serves GET /api/projects/{id}/sandbox/events: Server-Sent
// Events carrying the sandbox object on connect and after every committed
// change (`event: sandbox`, `id: <version>`), honouring Last-Event-ID, with
// comment keep-alives. Memory per stream is bounded: only the newest pending
// object is kept, and a client that stops reading is dropped by the write
// deadline. A bounded number of streams per server; past it, 503.
//
// A stream opened with a session cookie ends with an `event: signed-out`
// frame when that session is signed out on this server (at once) or found
// revoked or expired (checked at every keep-alive, so within `keepalive` plus
// the session cache's revalidation time when signed out on another replica).
//
// A project's event streams end with `event: end` (code not_found) when its
// record is forgotten, here or on another replica.
//
// Pause warning: `pause_warning` before a RUNNING sandbox's pauseAt, each
// stream gets one `event: pause_pending` frame for that pauseAt (data:
// projectId, pauseAt, secondsLeft), provided the sandbox has by then been
// idle for at least as long (no warning at all when the idle timeout is not
// longer than the warning). New activity or a hold moves pauseAt and so starts
// a new episode; a `sandbox` frame with a later pauseAt or another status ends
// the warning. A pause asked for through the API is not warned about.
//
// Output streams: GET /api/projects/{id}/sandbox/logs?follow=1 (a local
// sandbox's output, as `event: lines` frames whose `id` is the cursor to read
// on from; data as GET …/logs) starts with the last `tail` lines (100) or the
// lines after `after` (or the Last-Event-ID header, so a reconnect goes on
// where it stopped), then sends new lines as they are written, reading on
// every `log_poll`. Counted with the event streams (limit, shutdown,
// sign-out); they are not presence.
//
// Presence policy: an open stream means someone is looking at the project.
// While a project has open streams and its sandbox is STARTING or RUNNING,
// sandboxd records activity for it every `presence_interval` (at most a third
// of the idle timeout), and once more when its last stream closes; so the
// sandbox pauses one idle timeout after the last viewer leaves. Because
// presence is stored as activity, every replica's enforcer sees it.
// REQUIRES: runs on a single-threaded io_context (handlers share state
// without locks); bus callbacks hop onto it with post().
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/api.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "http/router.h"
#include "lifecycle/event_bus.h"
#include "lifecycle/lifecycle.h"

namespace sbx::api {

struct EventStreamOptions {
  int max_streams = 2000;                         // open streams per server; more get 503
  std::chrono::seconds keepalive{15};             // comment line interval
  bool presence = true;                           // open streams keep the sandbox awake
  std::chrono::seconds max_presence_interval{60}; // heartbeat at most this far apart
  // `event: pause_pending` this long before an idle pause; zero: none.
  std::chrono::milliseconds pause_warning{30'000};
  std::chrono::milliseconds log_poll{500};  // output streams read on this often
  // Threads that help the I/O thread write one change to many streams (the
  // kernel's loopback send path is most of a fan-out's cost); 0: none.
  int fanout_threads = 0;
  // Streams given a change per turn on the I/O thread: at about 10 µs a
  // send, a few milliseconds, which is as long as other work waits.
  size_t fanout_slice = 1024;
};

class EventStreams {
 public:
  EventStreams(net::io_context& io, Clock& clock, Api& api, lifecycle::Lifecycle& lifecycle,
               lifecycle::EventBus& bus, Metrics& metrics, EventStreamOptions options);
  ~EventStreams();
  void Register(http_server::Router& router);
  int open_streams() const { return open_; }
  // Projects whose presence heartbeat time is kept (those with open streams).
  size_t heartbeat_projects() const { return last_heartbeat_.size(); }
  // Shutdown: refuses new streams (503) and ends every open one with a final
  // `event: shutdown` frame (with `retry: 1000`, so EventSource reconnects,
  // to another replica or to this one once it is back).
  void Shutdown();

 private:
  struct Stream;
  struct Frame;  // an `event: sandbox` frame, built once and shared by every stream it goes to
  struct FanOut;  // one frame on its way to the streams of its project
  // On the I/O thread: hands a committed change to its project's streams.
  void Publish(const core::Sandbox& s);
  // Gives the frame to the next fanout_slice streams of the fan-out, then
  // posts the rest, so other work on the I/O thread waits one slice at most.
  void FanOutSlice(const std::shared_ptr<FanOut>& job);
  // TryWrite of `text` on each stream, shared among the I/O thread and the
  // fan-out threads; which ones took it.
  std::vector<char> WriteNow(const std::vector<Stream*>& streams, std::string_view text);
  // The frame of `s`: the project's cached newest one when it is that version.
  std::shared_ptr<const Frame> FrameOf(const core::Sandbox& s);
  net::awaitable<std::optional<http_server::Response>> Gate(http_server::RequestContext& ctx);
  net::awaitable<void> Serve(http_server::RequestContext& ctx, http_server::StreamWriter& writer);
  // Output streams: Gate's checks, a valid query and a provider that keeps
  // output (one read); then the stream.
  net::awaitable<std::optional<http_server::Response>> GateLogs(http_server::RequestContext& ctx);
  // The stream limit: a 503 when every place is open or reserved, else a
  // place reserved in ctx.hold (Track's caller then releases it).
  std::optional<http_server::Response> Reserve(http_server::RequestContext& ctx);
  net::awaitable<void> ServeLogs(http_server::RequestContext& ctx,
                                 http_server::StreamWriter& writer);
  // Registers a stream for shutdown and sign-out and starts its reader.
  std::shared_ptr<Stream> Track(const std::string& project, http_server::StreamWriter& writer);
  // Track's undoing: forgets the stream, closes it and waits for its reader.
  net::awaitable<void> Untrack(Stream& st, http_server::StreamWriter& writer);
  // A keep-alive comment, after checking a cookie stream's session: one
  // revoked elsewhere or expired marks the stream signed out instead. False
  // when the client is gone.
  net::awaitable<bool> KeepAlive(Stream& st, http_server::StreamWriter& writer);
  // Counts the stream, adds it to its project's watchers and starts its reader.
  std::shared_ptr<Stream> Open(const std::string& project, http_server::StreamWriter& writer);
  // Writes changes, keep-alives and presence heartbeats until the stream ends.
  net::awaitable<void> Pump(Stream& st, http_server::StreamWriter& writer);
  // Unsubscribes, waits for the reader, and sends the last viewer's heartbeat.
  net::awaitable<void> Close(std::shared_ptr<Stream> st, http_server::StreamWriter& writer);
  // When the project's next presence heartbeat is due.
  SteadyTime NextHeartbeat(const std::string& project, SteadyTime now) const;
  // When the stream's next pause warning is due (nullopt: none to give), or
  // the frame to send now (a non-empty string).
  struct Warning {
    std::optional<SteadyTime> due;
    std::string frame;
  };
  Warning PauseWarning(Stream& st) const;
  // When `s` is to be warned about: pause_warning before its pauseAt, if it
  // will by then have been idle at least as long; nullopt: no warning.
  std::optional<SystemTime> WarnAt(const core::Sandbox& s) const;
  // The earliest that a stream's pump may have to act (pause warning,
  // presence heartbeat) once `s` is the newest object.
  SteadyTime ActBy(const core::Sandbox& s) const;
  net::awaitable<void> Heartbeat(const std::string& project, bool closing);
  // Ends the streams of session `id` (on io_).
  void EndSession(const std::string& id);
  // Ends the event streams of a project whose record was forgotten (on io_).
  void EndProject(const std::string& project);

  net::io_context& io_;
  Clock& clock_;
  Api& api_;
  lifecycle::Lifecycle& lifecycle_;
  lifecycle::EventBus& bus_;
  Metrics& metrics_;
  EventStreamOptions options_;
  int open_ = 0;
  // Places reserved by Gate for streams not yet tracked; shared with the
  // requests' holds, which may outlive this object at shutdown.
  std::shared_ptr<int> reserved_ = std::make_shared<int>(0);
  // The event streams of each project, and each project's newest frame.
  std::unordered_map<std::string, std::unordered_set<Stream*>> by_project_;
  std::unordered_map<std::string, std::shared_ptr<const Frame>> frames_;
  uint64_t closes_ = 0;  // event streams that have left by_project_
  // The projects in by_project_, for the bus callback (on the committing
  // thread) to drop changes nobody watches without a hop to the I/O thread.
  std::mutex watched_mu_;
  std::unordered_set<std::string> watched_;
  int64_t subscription_ = 0;  // one bus subscription for every stream
  int64_t removals_ = 0;      // and one for forgotten records
  std::map<std::string, SteadyTime> last_heartbeat_;
  std::map<Stream*, std::weak_ptr<Stream>> live_;  // open streams, for Shutdown and sign-out
  bool shutting_down_ = false;
  std::optional<net::thread_pool> fanout_pool_;  // options_.fanout_threads threads
};

// The frame that ends a stream whose session was signed out or expired. No
// `retry:`: the browser's reconnect gets 401 and EventSource gives up.
inline constexpr char kSignedOutFrame[] =
    "event: signed-out\ndata: {\"reason\":\"the session was signed out or expired\"}\n\n";

// The frame that ends a project's event streams when it is forgotten. The
// browser's reconnect gets 404 and EventSource gives up.
inline constexpr char kForgottenFrame[] =
    "event: end\ndata: {\"code\":\"not_found\",\"message\":\"the project was forgotten\"}\n\n";

// The frame that ends every stream at shutdown.
inline constexpr char kShutdownFrame[] =
    "retry: 1000\nevent: shutdown\ndata: {\"reason\":\"server shutting down\"}\n\n";

// The SSE frame for one sandbox object.
std::string SseFrame(const core::Sandbox& s, const SandboxView& preview, SystemTime now);

}  // namespace sbx::api
