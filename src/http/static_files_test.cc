#include "http/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sbx::http_server {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sbx-static-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "assets");
    std::ofstream(root_ / "index.html") << "<!doctype html><title>dash</title>";
    std::ofstream(root_ / "assets" / "app-1234.js") << "console.log(1)";
    std::ofstream(root_.parent_path() / "secret.txt") << "do not serve";
  }
  void TearDown() override {
    fs::remove_all(root_);
    fs::remove(root_.parent_path() / "secret.txt");
  }
  http_server::Response Get(const std::string& target) {
    http_server::Request req{http::verb::get, target, 11};
    http_server::RequestContext ctx{req, {}, {}, {}, {}};
    EXPECT_TRUE(http_server::ParseTarget(target, ctx.path, ctx.query));
    StaticFiles files(root_);
    net::io_context io;
    http_server::Response out;
    net::co_spawn(io, files.Serve(ctx), [&](std::exception_ptr, http_server::Response r) {
      out = std::move(r);
    });
    io.run();
    return out;
  }
  fs::path root_;
};

TEST_F(StaticFilesTest, ServesIndexAndAssetsWithTypesAndCaching) {
  auto index = Get("/");
  EXPECT_EQ(index.result(), http::status::ok);
  EXPECT_EQ(index[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(index[http::field::cache_control], "no-cache");
  // Not framed by other pages (clickjacking with the operator's session).
  EXPECT_EQ(index["Content-Security-Policy"], "frame-ancestors 'none'");
  EXPECT_EQ(index["X-Frame-Options"], "DENY");
  auto js = Get("/assets/app-1234.js");
  EXPECT_EQ(js.result(), http::status::ok);
  EXPECT_EQ(js.body(), "console.log(1)");
  EXPECT_EQ(js[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_NE(js[http::field::cache_control].find("immutable"), std::string::npos);
}

TEST_F(StaticFilesTest, ClientRoutesFallBackToIndexButMissingAssetsAre404) {
  EXPECT_EQ(Get("/projects/demo").body(), "<!doctype html><title>dash</title>");
  EXPECT_EQ(Get("/assets/missing.js").result(), http::status::not_found);
  EXPECT_EQ(Get("/api/unknown").result(), http::status::not_found);
}

TEST_F(StaticFilesTest, NeverServesOutsideTheRoot) {
  for (const char* t : {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt",
                        "/..%2fsecret.txt"}) {
    auto r = Get(t);
    EXPECT_EQ(r.body().find("do not serve"), std::string::npos) << t;
    EXPECT_EQ(r.result(), http::status::not_found) << t;
  }
}

}  // namespace
}  // namespace sbx::http_server
