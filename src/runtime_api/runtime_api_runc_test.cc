// RuntimeServer end to end, as root: real LocalProvider (runc, the real
// sandbox-hello), the real HTTP server on 127.0.0.1:0 and a real webhook
// receiver on 127.0.0.1:0. Labelled `runc;integration` (run: ctest -L runc).
// Fails, never skips, when not root or runc is missing. Every test removes its
// containers in TearDown, also when it fails.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base/clock.h"
#include "e2b/signature.h"
#include "http/server.h"
#include "provider/local/local_provider.h"
#include "provider/local/posix_process_runner.h"
#include "provider/local/runc.h"
#include "provider/local/linux_sandbox_host.h"
#include "runtime_api/runtime_api.h"

namespace sbx::runtime_api {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr char kHelloBinaryDir[] = SBX_HELLO_BINARY_DIR;
constexpr char kTemplatesDir[] = SBX_TEMPLATES_DIR;
constexpr char kKey[] = "e2b_00112233445566778899aabbccddeeff00112233";
constexpr char kSecret[] = "integration-secret";

struct Reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

// Blocking HTTP/1.1 client for the test thread (Connection: close).
Reply Http(uint16_t port, http::verb method, const std::string& target,
           const std::string& body = "", const std::string& host = "", bool auth = true) {
  net::io_context io;
  net::ip::tcp::socket socket(io);
  beast::error_code ec;
  socket.connect({net::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return {};
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, host.empty() ? "127.0.0.1:" + std::to_string(port) : host);
  if (auth) req.set("X-API-KEY", kKey);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req, ec);
  if (ec) return {};
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res, ec);
  if (ec) return {};
  Reply r{res.result_int(), res.body(), {}};
  for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
  return r;
}

json::value Parse(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value() : v;
}

// A webhook receiver on its own thread: records every delivery and answers
// with the scripted statuses, then 200.
class Receiver {
 public:
  struct Delivery {
    std::map<std::string, std::string> headers;
    std::string body;
  };

  Receiver() {
    router_.Add(http::verb::post, "/hook",
                [this](http_server::RequestContext& ctx) -> net::awaitable<http_server::Response> {
                  unsigned status = 200;
                  {
                    std::lock_guard lock(mu_);
                    Delivery d;
                    for (const auto& f : ctx.request) {
                      d.headers[std::string(f.name_string())] = std::string(f.value());
                    }
                    d.body = ctx.request.body();
                    deliveries_.push_back(std::move(d));
                    if (!script_.empty()) {
                      status = script_.front();
                      script_.pop_front();
                    }
                  }
                  cv_.notify_all();
                  http_server::Response res{static_cast<http::status>(status), 11};
                  res.keep_alive(false);
                  res.prepare_payload();
                  co_return res;
                });
    server_ = std::make_unique<http_server::Server>(
        io_, clock_, metrics_, router_, http_server::ServerOptions{.listen = "127.0.0.1:0"});
    auto bound = server_->Start();
    EXPECT_TRUE(bound.ok());
    url_ = "http://" + (bound.ok() ? *bound : std::string("127.0.0.1:1")) + "/hook";
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() {
    io_.stop();
    thread_.join();
  }

  void Script(std::initializer_list<unsigned> statuses) {
    std::lock_guard lock(mu_);
    script_.assign(statuses);
  }
  const std::string& url() const { return url_; }

  // Waits until a delivery satisfies `pred`; returns it, or nullopt on timeout.
  std::optional<Delivery> WaitFor(const std::function<bool(const Delivery&)>& pred,
                                  std::chrono::seconds timeout = 20s) {
    std::unique_lock lock(mu_);
    std::optional<Delivery> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& d : deliveries_) {
        if (pred(d)) {
          found = d;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  // Waits until at least `n` deliveries arrived.
  bool WaitForCount(size_t n, std::chrono::seconds timeout = 20s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return deliveries_.size() >= n; });
  }
  std::vector<Delivery> deliveries() {
    std::lock_guard lock(mu_);
    return deliveries_;
  }

 private:
  net::io_context io_;
  SystemClock clock_;
  Metrics metrics_;
  http_server::Router router_;
  std::unique_ptr<http_server::Server> server_;
  std::string url_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Delivery> deliveries_;
  std::deque<unsigned> script_;
};

bool IsEvent(const Receiver::Delivery& d, const std::string& type, const std::string& sandbox_id) {
  auto v = Parse(d.body);
  if (!v.is_object()) return false;
  const auto& o = v.as_object();
  return o.contains("type") && o.at("type") == type.c_str() && o.contains("sandbox_id") &&
         o.at("sandbox_id") == sandbox_id.c_str();
}

class RuntimeRuncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u)
        << "sbx_runtime_api_runc_tests drive real runc containers and must run as root "
           "(exclude them with `ctest -LE runc`)";
    auto version = runner_.Run({"runc", "--version"}, {.timeout = 10s});
    ASSERT_TRUE(version.has_value() && version->ok())
        << "runc is not installed or not in PATH (apt-get install runc)";
    ASSERT_EQ(::access((std::filesystem::path(kHelloBinaryDir) / "sandbox-hello").c_str(), X_OK), 0)
        << "sandbox-hello is not built in " << kHelloBinaryDir;
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "sbx-runtime-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0711);  // sandboxes' unprivileged users must traverse it

    provider::local::LocalProviderOptions local;
    local.runc_root = dir_ / "runc";
    local.sandboxes_dir = dir_ / "sandboxes";
    local.templates_dir = kTemplatesDir;
    local.binary_dir = kHelloBinaryDir;
    provider_ = std::make_unique<provider::local::LocalProvider>(clock_, ids_, runner_, host_,
                                                                 local);
    RuntimeOptions options;
    options.api_key = kKey;
    options.data_dir = dir_;
    options.sandboxes.templates_dir = kTemplatesDir;
    options.delivery.backoff = 200ms;
    options.delivery.request_timeout = 2s;
    options.webhook_targets.allow_private = true;  // the receiver is on 127.0.0.1
    options.connector = provider_.get();  // sandboxes serve inside their namespaces
    runtime_ = std::make_unique<RuntimeServer>(io_.get_executor(), clock_, pool_, *provider_,
                                               client_, resolver_, ids_, metrics_, options);
    ASSERT_TRUE(runtime_->Load().ok());
    runtime_->Register(router_);
    server_ = std::make_unique<http_server::Server>(
        io_, clock_, metrics_, router_,
        http_server::ServerOptions{.listen = "127.0.0.1:0", .metrics_prefix = "sandboxd_runtime"});
    auto bound = server_->Start();
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    port_ = static_cast<uint16_t>(std::stoi(bound->substr(bound->rfind(':') + 1)));
    runtime_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      net::post(io_, [this] {
        runtime_->Stop();
        server_->Stop();
        io_.stop();
      });
      thread_.join();
    }
    pool_.Stop();
    // Independent of the runtime, so that cleanup works even if it is broken.
    provider::local::RuncCommands runc{.binary = "runc", .root = (dir_ / "runc").string()};
    auto listed = runner_.Run(runc.List(), {.timeout = 30s});
    if (listed.has_value() && listed->ok()) {
      auto containers = provider::local::ParseRuncList(listed->out);
      if (containers.has_value()) {
        for (const auto& c : *containers) {
          (void)runner_.Run(runc.Kill(c.id), {.timeout = 30s});
          auto deleted = runner_.Run(runc.ForceDelete(c.id), {.timeout = 30s});
          EXPECT_TRUE(deleted.has_value() && deleted->ok()) << "could not delete " << c.id;
        }
      }
    }
    // Then everything else the sandboxes had (namespaces, mounts, helpers,
    // uid claims), before their files go.
    if (provider_ != nullptr) {
      EXPECT_TRUE(provider_->Sweep().ok());
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  Reply Api(http::verb method, const std::string& target, const std::string& body = "") {
    return Http(port_, method, target, body);
  }

  void Subscribe(const std::string& url) {
    auto r = Api(http::verb::post, "/events/webhooks",
                 R"({"name":"it","url":")" + url + R"(","events":[],"signatureSecret":")" +
                     kSecret + R"("})");
    ASSERT_EQ(r.status, 201u) << r.body;
  }

  std::string CreateSandbox(const std::string& body) {
    auto r = Api(http::verb::post, "/sandboxes", body);
    EXPECT_EQ(r.status, 201u) << r.body;
    auto v = Parse(r.body);
    if (!v.is_object() || !v.as_object().contains("sandboxID")) return "";
    return std::string(v.at("sandboxID").as_string());
  }

  // GET /state of the hello app through the preview host.
  json::value HelloState(const std::string& id) {
    auto r = Http(port_, http::verb::get, "/state", "", "3000-" + id + ".localhost", false);
    EXPECT_EQ(r.status, 200u) << r.body;
    return Parse(r.body);
  }

  provider::local::PosixProcessRunner runner_;
  SystemClock clock_;
  IdGenerator ids_{20261127};
  provider::local::LinuxSandboxHost host_{clock_};
  std::filesystem::path dir_;
  std::unique_ptr<provider::local::LocalProvider> provider_;
  net::io_context io_;
  BlockingPool pool_{{.threads = 4}};
  BeastHttpClient client_;
  SystemResolver resolver_{clock_};
  Metrics metrics_;
  http_server::Router router_;
  std::unique_ptr<RuntimeServer> runtime_;
  std::unique_ptr<http_server::Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(RuntimeRuncTest, LifecycleOverRealRunc) {
  Receiver receiver;
  Subscribe(receiver.url());
  const std::string id =
      CreateSandbox(R"({"templateID":"hello","timeout":120,"metadata":{"projectId":"it-1"}})");
  ASSERT_FALSE(id.empty());

  auto created = receiver.WaitFor(
      [&](const Receiver::Delivery& d) { return IsEvent(d, "sandbox.lifecycle.created", id); });
  ASSERT_TRUE(created.has_value()) << "no created webhook";
  EXPECT_TRUE(
      e2b::VerifySignature(created->body, created->headers["e2b-signature"], {kSecret}));
  EXPECT_EQ(created->headers["e2b-signature-version"], "v1");
  EXPECT_FALSE(created->headers["e2b-webhook-id"].empty());
  EXPECT_EQ(Parse(created->body).at("event_data").at("sandbox_metadata").at("projectId"), "it-1");

  // The preview host reaches the hello app.
  auto page = Http(port_, http::verb::get, "/", "", "3000-" + id + ".localhost:3000", false);
  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("hello from sandbox"), std::string::npos) << page.body;
  const json::value before = HelloState(id);
  ASSERT_TRUE(before.is_object());

  auto paused = Api(http::verb::post, "/sandboxes/" + id + "/pause");
  EXPECT_EQ(paused.status, 204u) << paused.body;
  EXPECT_TRUE(receiver.WaitFor(
      [&](const Receiver::Delivery& d) { return IsEvent(d, "sandbox.lifecycle.paused", id); }));
  auto again = Api(http::verb::post, "/sandboxes/" + id + "/pause");
  EXPECT_EQ(again.status, 409u);
  EXPECT_EQ(Parse(again.body).at("message"),
            ("Error pausing sandbox - sandbox '" + id + "' is already paused").c_str());
  // Paused without autoResume: E2B's proxy answer, and nothing resumes it.
  EXPECT_EQ(Http(port_, http::verb::get, "/state", "", "3000-" + id + ".localhost", false).status,
            409u);
  auto listed = Parse(Api(http::verb::get, "/v2/sandboxes?state=paused").body);
  ASSERT_TRUE(listed.is_array());
  ASSERT_EQ(listed.as_array().size(), 1u);
  EXPECT_EQ(listed.as_array()[0].at("sandboxID"), id.c_str());

  auto connected = Api(http::verb::post, "/sandboxes/" + id + "/connect", R"({"timeout":60})");
  EXPECT_EQ(connected.status, 201u) << connected.body;
  EXPECT_TRUE(receiver.WaitFor(
      [&](const Receiver::Delivery& d) { return IsEvent(d, "sandbox.lifecycle.resumed", id); }));
  const json::value after = HelloState(id);
  ASSERT_TRUE(after.is_object());
  // Same process (frozen, not restarted): same start, counter kept growing.
  EXPECT_EQ(after.at("startedAt"), before.at("startedAt"));
  EXPECT_GT(after.at("requests").as_int64(), before.at("requests").as_int64());

  auto metrics = Http(port_, http::verb::get, "/metrics", "", "", false);
  EXPECT_NE(
      metrics.body.find(
          R"(sandboxd_runtime_requests_total{code="204",route="/sandboxes/{sandboxID}/pause"} 1)"),
      std::string::npos)
      << metrics.body;
  EXPECT_NE(
      metrics.body.find(
          R"(sandboxd_runtime_requests_total{code="409",route="/sandboxes/{sandboxID}/pause"} 1)"),
      std::string::npos);

  EXPECT_EQ(Api(http::verb::delete_, "/sandboxes/" + id).status, 204u);
  auto killed = receiver.WaitFor(
      [&](const Receiver::Delivery& d) { return IsEvent(d, "sandbox.lifecycle.killed", id); });
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(Parse(killed->body).at("event_data").at("kill_reason"), "request");
  EXPECT_EQ(Api(http::verb::get, "/sandboxes/" + id).status, 404u);
}

TEST_F(RuntimeRuncTest, PreviewTrafficResumesAnAutoResumeSandbox) {
  Receiver receiver;
  Subscribe(receiver.url());
  auto r = Api(http::verb::post, "/v2/sandboxes",
               R"({"templateID":"hello","timeout":120,"autoPause":true,)"
               R"("autoResume":{"enabled":true}})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string id(Parse(r.body).at("sandboxID").as_string());
  const json::value before = HelloState(id);
  ASSERT_TRUE(before.is_object());
  ASSERT_EQ(Api(http::verb::post, "/sandboxes/" + id + "/pause").status, 204u);
  ASSERT_EQ(Parse(Api(http::verb::get, "/sandboxes/" + id).body).at("state"), "paused");

  // Eight requests at once to the paused sandbox: one resume, eight answers
  // from the app, whose counter shows it was frozen, not restarted.
  std::vector<std::thread> clients;
  std::vector<Reply> replies(8);
  for (size_t i = 0; i < replies.size(); ++i) {
    clients.emplace_back([&, i] {
      replies[i] = Http(port_, http::verb::get, "/state", "", "3000-" + id + ".localhost", false);
    });
  }
  for (auto& t : clients) t.join();
  for (const Reply& reply : replies) {
    ASSERT_EQ(reply.status, 200u) << reply.body;
    const json::value state = Parse(reply.body);
    EXPECT_EQ(state.at("startedAt"), before.at("startedAt"));
    EXPECT_GT(state.at("requests").as_int64(), before.at("requests").as_int64());
  }
  EXPECT_EQ(Parse(Api(http::verb::get, "/sandboxes/" + id).body).at("state"), "running");
  ASSERT_TRUE(receiver.WaitFor(
      [&](const Receiver::Delivery& d) { return IsEvent(d, "sandbox.lifecycle.resumed", id); }));
  size_t resumed = 0;
  for (const auto& d : receiver.deliveries()) {
    if (IsEvent(d, "sandbox.lifecycle.resumed", id)) ++resumed;
  }
  EXPECT_EQ(resumed, 1u);
  EXPECT_EQ(Api(http::verb::delete_, "/sandboxes/" + id).status, 204u);
}

TEST_F(RuntimeRuncTest, TimeoutKillsAndReportsIt) {
  Receiver receiver;
  Subscribe(receiver.url());
  const std::string id = CreateSandbox(R"({"templateID":"hello","timeout":2})");
  ASSERT_FALSE(id.empty());
  auto killed = receiver.WaitFor(
      [&](const Receiver::Delivery& d) { return IsEvent(d, "sandbox.lifecycle.killed", id); }, 30s);
  ASSERT_TRUE(killed.has_value()) << "no killed webhook after the 2 s timeout";
  EXPECT_EQ(Parse(killed->body).at("event_data").at("kill_reason"), "timeout");
  EXPECT_EQ(Api(http::verb::get, "/sandboxes/" + id).status, 404u);
  auto state = runner_.Run(
      provider::local::RuncCommands{.binary = "runc", .root = (dir_ / "runc").string()}.State(id),
      {.timeout = 30s});
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->ok()) << "container still exists: " << state->out;
}

TEST_F(RuntimeRuncTest, DeliveryRetriesUntilTheReceiverAccepts) {
  Receiver receiver;
  receiver.Script({500, 500});
  Subscribe(receiver.url());
  const std::string id = CreateSandbox(R"({"templateID":"hello","timeout":60})");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(receiver.WaitForCount(3)) << "fewer than 3 delivery attempts";
  auto all = receiver.deliveries();
  std::vector<Receiver::Delivery> created;
  for (const auto& d : all) {
    if (IsEvent(d, "sandbox.lifecycle.created", id)) created.push_back(d);
  }
  ASSERT_EQ(created.size(), 3u);
  std::set<std::string> delivery_ids;
  for (const auto& d : created) {
    delivery_ids.insert(d.headers.at("e2b-delivery-id"));
    EXPECT_EQ(d.body, created[0].body);
    EXPECT_TRUE(e2b::VerifySignature(d.body, d.headers.at("e2b-signature"), {kSecret}));
  }
  EXPECT_EQ(delivery_ids.size(), 3u);
  EXPECT_EQ(Api(http::verb::delete_, "/sandboxes/" + id).status, 204u);
}

}  // namespace
}  // namespace sbx::runtime_api
