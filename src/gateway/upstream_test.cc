#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "base/testing/fake_resolver.h"
#include "base/testing/run_sync.h"
#include "gateway/e2b_upstream.h"
#include "gateway/loopback_upstream.h"

namespace sbx::gateway {
namespace {

using sbx::testing::RunSync;

core::Sandbox WithUrl(const std::string& id, const std::string& url) {
  core::Sandbox s;
  s.sandbox_id = id;
  s.url = url;
  return s;
}

TEST(UpstreamTest, ParsesUrls) {
  auto u = ParseUrlHostPort("http://127.0.0.1:40000/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 40000);
  u = ParseUrlHostPort("https://49999-i1.e2b.app/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "49999-i1.e2b.app");
  EXPECT_EQ(u->port, 443);
  EXPECT_FALSE(ParseUrlHostPort("ftp://x/"));
  EXPECT_FALSE(ParseUrlHostPort("not a url"));
}

TEST(UpstreamTest, LoopbackConnectsTheSandboxsOwnSocketToItsPort) {
  net::io_context io;
  // A listener on this namespace's loopback stands in for the sandbox's.
  net::ip::tcp::acceptor listener(io, {net::ip::address_v4::loopback(), 0});
  const uint16_t port = listener.local_endpoint().port();
  std::vector<std::string> asked;
  LoopbackUpstream up({.sandbox_socket = [&](const std::string& id) -> Result<int> {
    asked.push_back(id);
    if (id != "sbx1") return NotFound("sandbox " + id + " does not exist");
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Internal("socket");
    return fd;
  }});
  auto conn = RunSync(io, up.Connect(WithUrl("sbx1", "http://8080-sbx1.sandbox.internal/"), port));
  ASSERT_TRUE(conn.ok()) << conn.error().ToString();
  EXPECT_FALSE((*conn)->host) << "the client's Host header goes through";
  auto& stream = std::get<beast::tcp_stream>((*conn)->stream);
  EXPECT_EQ(stream.socket().remote_endpoint().port(), port);

  auto gone = RunSync(io, up.Connect(WithUrl("sbx2", "http://8080-sbx2.sandbox.internal/"), port));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), StatusCode::kNotFound) << gone.error().ToString();
  EXPECT_EQ(asked, (std::vector<std::string>{"sbx1", "sbx2"}));

  listener.close();  // nothing serves the port now
  auto refused = RunSync(io, up.Connect(WithUrl("sbx1", "http://8080-sbx1.sandbox.internal/"), port));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), StatusCode::kUnavailable) << refused.error().ToString();

  LoopbackUpstream unwired({});
  auto none = RunSync(io, unwired.Connect(WithUrl("sbx1", "http://8080-sbx1.sandbox.internal/"), port));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), StatusCode::kUnavailable);
}

TEST(UpstreamTest, E2bHostsAndTheLoopbackRuntimeRule) {
  FakeResolver resolver;
  auto cloud =
      E2bUpstream::Create({.api_url = "https://api.e2b.app", .domain = "e2b.app"}, resolver);
  ASSERT_TRUE(cloud.ok()) << cloud.status().ToString();
  EXPECT_FALSE((*cloud)->plain_endpoint()) << "E2B proper: TLS to the sandbox host";
  // The stored URL's domain wins over E2B_DOMAIN.
  EXPECT_EQ((*cloud)->HostFor(WithUrl("i1", "https://49999-i1.eu.e2b.dev/"), 3000),
            "3000-i1.eu.e2b.dev");
  EXPECT_EQ((*cloud)->HostFor(WithUrl("i1", "https://api.example/"), 3000), "3000-i1.e2b.app");
  EXPECT_EQ((*cloud)->HostFor(core::Sandbox{.sandbox_id = "i1"}, 8080), "8080-i1.e2b.app");

  auto runtime =
      E2bUpstream::Create({.api_url = "http://127.0.0.1:3000", .domain = "sbx.local"}, resolver);
  ASSERT_TRUE(runtime.ok());
  ASSERT_TRUE((*runtime)->plain_endpoint());
  EXPECT_EQ((*runtime)->plain_endpoint()->port(), 3000);
  auto localhost = E2bUpstream::Create({.api_url = "http://localhost:3001/"}, resolver);
  ASSERT_TRUE(localhost.ok());
  EXPECT_TRUE((*localhost)->plain_endpoint());
  auto remote_http = E2bUpstream::Create({.api_url = "http://10.1.2.3:3000"}, resolver);
  ASSERT_TRUE(remote_http.ok());
  EXPECT_FALSE((*remote_http)->plain_endpoint()) << "plain http only to loopback";
  EXPECT_FALSE(E2bUpstream::Create({.api_url = "ftp://x"}, resolver).ok());
}

// A self-signed certificate (its own CA) for `dns_name`, and its key, as PEM.
struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

std::string ToPem(const std::function<int(BIO*)>& write) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

TestCert MakeCert(const std::string& dns_name) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       {std::pair<int, std::string>{NID_subject_alt_name, "DNS:" + dns_name},
        {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  TestCert out{ToPem([&](BIO* b) { return PEM_write_bio_X509(b, x); }),
               ToPem([&](BIO* b) {
                 return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
               })};
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// What a TLS connection attempt came to (the stream itself dies with its io_context).
struct TlsAttempt {
  Status status;
  bool tls = false;
  std::optional<std::string> host;
  bool server_handshake_ok = false;
};

// A TLS server on 127.0.0.1 presenting `served`; the client trusts `trusted`.
TlsAttempt ConnectTls(const TestCert& served, const TestCert& trusted) {
  net::io_context io;
  net::ssl::context server_tls(net::ssl::context::tls_server);
  server_tls.use_certificate_chain(net::buffer(served.cert_pem));
  server_tls.use_private_key(net::buffer(served.key_pem), net::ssl::context::pem);
  net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
  TlsAttempt out;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
        if (ec) co_return;
        net::ssl::stream<net::ip::tcp::socket> stream(std::move(socket), server_tls);
        auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::server,
                                                     net::as_tuple(net::use_awaitable));
        out.server_handshake_ok = !hec;
      },
      net::detached);
  char ca_path[] = "/tmp/sbx-gateway-ca-XXXXXX";
  const int fd = ::mkstemp(ca_path);
  ::close(fd);
  std::ofstream(ca_path) << trusted.cert_pem;
  // The sandbox host resolves to the test's server, found on its port.
  FakeResolver resolver;
  resolver.Set("3000-i1.e2b.test", {"127.0.0.1"});
  auto upstream = E2bUpstream::Create({.api_url = "https://api.e2b.test",
                                       .domain = "e2b.test",
                                       .ca_file = ca_path,
                                       .tls_port = acceptor.local_endpoint().port()},
                                      resolver);
  EXPECT_TRUE(upstream.ok()) << upstream.status().ToString();
  {
    auto connected = RunSync(io, (*upstream)->Connect(core::Sandbox{.sandbox_id = "i1"}, 3000));
    out.status = connected.status();
    if (connected.ok()) {
      out.tls = std::holds_alternative<TlsStream>((*connected)->stream);
      out.host = (*connected)->host;
    }
    io.restart();
    io.poll();
  }
  std::remove(ca_path);
  return out;
}

TEST(UpstreamTest, E2bTlsChecksTheCertificateAndTheHostName) {
  const TestCert good = MakeCert("*.e2b.test");
  const TlsAttempt ok = ConnectTls(good, good);
  ASSERT_TRUE(ok.status.ok()) << ok.status.ToString();
  EXPECT_TRUE(ok.server_handshake_ok);
  EXPECT_TRUE(ok.tls);
  EXPECT_EQ(ok.host, "3000-i1.e2b.test");

  const TestCert other_name = MakeCert("*.example.test");
  const TlsAttempt wrong_name = ConnectTls(other_name, other_name);
  ASSERT_FALSE(wrong_name.status.ok()) << "a certificate for another name was accepted";
  EXPECT_EQ(wrong_name.status.code(), StatusCode::kUnavailable);

  const TlsAttempt untrusted = ConnectTls(good, MakeCert("*.e2b.test"));
  ASSERT_FALSE(untrusted.status.ok()) << "a certificate from an untrusted issuer was accepted";
  EXPECT_NE(untrusted.status.message().find("TLS handshake"), std::string::npos)
      << untrusted.status.ToString();
}

// A sandbox host whose DNS does not answer ends the connect with the
// resolver's error (SystemResolver: at its deadline) and nothing is dialled.
TEST(UpstreamTest, E2bConnectEndsWithTheResolversError) {
  net::io_context io;
  FakeResolver resolver;
  resolver.Fail("3000-i1.e2b.test", DeadlineExceeded("resolve 3000-i1.e2b.test: no answer"));
  auto upstream = E2bUpstream::Create({.api_url = "https://api.e2b.test", .domain = "e2b.test"},
                                      resolver);
  ASSERT_TRUE(upstream.ok()) << upstream.status().ToString();
  auto connected = RunSync(io, (*upstream)->Connect(core::Sandbox{.sandbox_id = "i1"}, 3000));
  ASSERT_FALSE(connected.ok());
  EXPECT_EQ(connected.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(resolver.asked(), std::vector<std::string>{"3000-i1.e2b.test"});
}

}  // namespace
}  // namespace sbx::gateway
