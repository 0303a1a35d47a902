#include "gateway/activity.h"

#include <algorithm>

#include "base/log.h"

namespace sbx::gateway {

using namespace std::chrono_literals;

PreviewActivity::PreviewActivity(Clock& clock, lifecycle::Lifecycle& lifecycle,
                                 ActivityOptions options)
    : clock_(clock), lifecycle_(lifecycle), options_(options) {}

PreviewActivity::~PreviewActivity() = default;

void PreviewActivity::Start(net::any_io_executor executor) { executor_ = std::move(executor); }

std::chrono::milliseconds PreviewActivity::WindowFor(const std::string& project) const {
  std::chrono::milliseconds window = options_.granularity;
  if (auto s = lifecycle_.read_model().Get(project)) {
    const std::chrono::milliseconds idle = std::chrono::seconds(s->idle_timeout_s);
    window = std::min(window, idle / 4);
  }
  return std::max(window, options_.min_window);
}

PreviewActivity::Entry& PreviewActivity::EntryFor(const std::string& project) {
  auto [it, inserted] = entries_.try_emplace(project);
  if (inserted) {
    // Leading edge: the writer records this touch at once.
    it->second.timer = clock_.NewTimer(executor_);
    net::co_spawn(executor_, Writer(project), [](std::exception_ptr e) {
      if (e) SBX_LOG_ERROR("bug: preview activity writer threw");
    });
  } else {
    it->second.pending = true;  // trailing edge: written when the window ends
  }
  return it->second;
}

void PreviewActivity::Touch(const std::string& project) {
  if (stopping_) return;
  (void)EntryFor(project);
}

void PreviewActivity::OpenStream(const std::string& project) {
  if (stopping_) return;
  ++EntryFor(project).open;
}

void PreviewActivity::CloseStream(const std::string& project) {
  auto it = entries_.find(project);
  if (it == entries_.end()) return;  // cannot happen while a stream is open
  --it->second.open;
  it->second.pending = true;
}

void PreviewActivity::Stop() {
  stopping_ = true;
  for (auto& [project, entry] : entries_) entry.timer->Cancel();
}

net::awaitable<void> PreviewActivity::Writer(std::string project) {
  for (;;) {
    Entry& e = entries_.at(project);
    e.pending = false;
    const SteadyTime started = clock_.SteadyNow();
    Status st = co_await lifecycle_.RecordActivity(project, core::EventSource::kPreview);
    if (!st.ok() && st.code() != StatusCode::kNotFound &&
        st.code() != StatusCode::kFailedPrecondition) {
      SBX_LOG_WARN("preview activity of {}: {}", project, st.ToString());
    }
    Entry& after = entries_.at(project);
    if (!stopping_) (void)co_await after.timer->WaitUntil(started + WindowFor(project));
    Entry& now = entries_.at(project);
    const bool more = now.pending || (now.open > 0 && !stopping_);
    if (!more) break;
  }
  entries_.erase(project);
}

}  // namespace sbx::gateway
