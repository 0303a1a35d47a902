// PreviewActivity turns preview traffic into lifecycle activity
// (Lifecycle::RecordActivity with source "preview"), coalesced per project
// with a leading and a trailing edge: the first touch after a quiet window is
// written at once; touches inside a window are written together when it
// ends. So a busy app costs at most one write per project per window, and
// the recorded lastActivityAt is never earlier than the last touch and never
// later than the last touch + one window: pauseAt stays within
// [last request + idle timeout, last request + idle timeout + window].
// The window is `granularity`, or a quarter of the sandbox's idle timeout when
// that is shorter (so a trailing write always lands well before pauseAt).
// An open stream (a WebSocket) counts as activity in every window while it is
// open. Memory: one entry per project touched within the last window.
// REQUIRES: every call on the executor given to Start (the I/O thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "base/net.h"
#include "lifecycle/lifecycle.h"

namespace sbx::gateway {

struct ActivityOptions {
  std::chrono::milliseconds granularity{2000};  // longest window; see above
  std::chrono::milliseconds min_window{50};     // shortest window (tiny idle timeouts)
};

class PreviewActivity {
 public:
  PreviewActivity(Clock& clock, lifecycle::Lifecycle& lifecycle, ActivityOptions options);
  ~PreviewActivity();
  PreviewActivity(const PreviewActivity&) = delete;
  PreviewActivity& operator=(const PreviewActivity&) = delete;

  void Start(net::any_io_executor executor);
  // A request or a piece of a body was forwarded for `project`.
  void Touch(const std::string& project);
  // A long-lived stream (WebSocket) opened or closed: while any is open the
  // project is active in every window. Close also counts as a touch.
  void OpenStream(const std::string& project);
  void CloseStream(const std::string& project);
  // Writes what is pending now, then lets every writer end. idle() says when.
  void Stop();
  // True when no write is pending or running.
  bool idle() const { return entries_.empty(); }
  // The coalescing window of the project's sandbox (see the header comment).
  std::chrono::milliseconds WindowFor(const std::string& project) const;

 private:
  struct Entry {
    bool pending = false;  // touched since the last write started
    int open = 0;          // open streams
    std::unique_ptr<Timer> timer;
  };
  Entry& EntryFor(const std::string& project);
  // Writes for one project until a window passes without a touch.
  net::awaitable<void> Writer(std::string project);

  Clock& clock_;
  lifecycle::Lifecycle& lifecycle_;
  ActivityOptions options_;
  net::any_io_executor executor_;
  bool stopping_ = false;
  std::unordered_map<std::string, Entry> entries_;  // by project; node addresses are stable
};

}  // namespace sbx::gateway
