// The etcd gateway's messages: requests as etcd 3.4 reads them, answers as it wrote them
// (the lines below were captured from Debian's etcd 3.4.23), and what is refused.
#include <gtest/gtest.h>

#include "relay/cluster/etcd_endpoint.h"
#include "relay/cluster/etcd_json.h"

namespace tg::cluster {
namespace {

TEST(EtcdBase64, RoundTripsAndRefusesMalformed) {
  EXPECT_EQ(encode_base64(""), "");
  EXPECT_EQ(encode_base64("f"), "Zg==");
  EXPECT_EQ(encode_base64("fo"), "Zm8=");
  EXPECT_EQ(encode_base64("foo"), "Zm9v");
  EXPECT_EQ(encode_base64("/tg/names/a"), "L3RnL25hbWVzL2E=");
  EXPECT_EQ(encode_base64(std::string("\xff\xfe\x00", 3)), "//4A");
  for (std::string bytes : {"", "a", "ab", "abc", "abcd", "\x01\x80\xff"}) {
    EXPECT_EQ(decode_base64(encode_base64(bytes)), bytes);
  }
  EXPECT_EQ(decode_base64("Zg"), std::nullopt);        // padding required
  EXPECT_EQ(decode_base64("Z==="), std::nullopt);      // too much padding
  EXPECT_EQ(decode_base64("Zg==Zg=="), std::nullopt);  // padding inside
  EXPECT_EQ(decode_base64("Zm9v\n"), std::nullopt);
  EXPECT_EQ(decode_base64("Zm-_"), std::nullopt);  // base64url's alphabet is not this one
}

TEST(EtcdJson, PrefixRangeEnd) {
  EXPECT_EQ(prefix_range_end("/tg/"), "/tg0");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(prefix_range_end("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
}

TEST(EtcdJson, WritesRequests) {
  EXPECT_EQ(encode_lease_grant(10), R"({"TTL":"10"})");
  EXPECT_EQ(encode_lease_id(4111120479548472069), R"({"ID":"4111120479548472069"})");
  EXPECT_EQ(encode_range("/a"), R"({"key":"L2E="})");
  EXPECT_EQ(encode_range("/a/", "/a0"), R"({"key":"L2Ev","range_end":"L2Ew"})");
  EXPECT_EQ(encode_put("k", "v", 7), R"({"key":"aw==","value":"dg==","lease":"7"})");
  EXPECT_EQ(encode_put("k", "v", 0), R"({"key":"aw==","value":"dg=="})");
  EXPECT_EQ(encode_watch_create("/a/", "/a0", 42),
            R"({"create_request":{"key":"L2Ev","range_end":"L2Ew","start_revision":"42"}})");
  EXPECT_EQ(encode_watch_create("/a/", "/a0", 0),
            R"({"create_request":{"key":"L2Ev","range_end":"L2Ew"}})");
  TxnRequest txn;
  txn.compare.push_back({"k", Compare::Target::kCreateRevision, 0, ""});
  txn.compare.push_back({"k", Compare::Target::kModRevision, 9, ""});
  txn.compare.push_back({"k", Compare::Target::kValue, 0, "v"});
  txn.success.push_back({TxnOp::Kind::kPut, "k", "v", 5});
  txn.failure.push_back({TxnOp::Kind::kRange, "k", "", 0});
  txn.failure.push_back({TxnOp::Kind::kDelete, "k", "", 0});
  EXPECT_EQ(
      encode_txn(txn),
      R"({"compare":[{"key":"aw==","result":"EQUAL","target":"CREATE","create_revision":"0"},)"
      R"({"key":"aw==","result":"EQUAL","target":"MOD","mod_revision":"9"},)"
      R"({"key":"aw==","result":"EQUAL","target":"VALUE","value":"dg=="}],)"
      R"("success":[{"request_put":{"key":"aw==","value":"dg==","lease":"5"}}],)"
      R"("failure":[{"request_range":{"key":"aw=="}},{"request_delete_range":{"key":"aw=="}}]})");
}

constexpr std::string_view kHeader =
    R"("header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"})";

TEST(EtcdJson, ReadsLeaseAnswers) {
  auto grant =
      parse_lease_grant("{" + std::string(kHeader) + R"(,"ID":"4111120479548472069","TTL":"5"})");
  ASSERT_TRUE(grant.ok()) << grant.error().message;
  EXPECT_EQ(grant->id, 4111120479548472069);
  EXPECT_EQ(grant->ttl, 5);
  EXPECT_EQ(grant->revision, 2);
  auto alive =
      parse_lease_keepalive(R"({"result":{)" + std::string(kHeader) + R"(,"ID":"12","TTL":"5"}})");
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(alive->ttl, 5);
  // A lease that is gone: etcd leaves out TTL (proto3 omits zero).
  auto gone = parse_lease_keepalive(R"({"result":{)" + std::string(kHeader) + R"(,"ID":"12345"}})");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->id, 12345);
  EXPECT_EQ(gone->ttl, 0);
  EXPECT_FALSE(parse_lease_grant("{" + std::string(kHeader) + "}").ok());  // no ID
}

TEST(EtcdJson, ReadsTxnAnswers) {
  auto won =
      parse_txn("{" + std::string(kHeader) +
                R"(,"succeeded":true,"responses":[{"response_put":{"header":{"revision":"2"}}}]})");
  ASSERT_TRUE(won.ok());
  EXPECT_TRUE(won->succeeded);
  EXPECT_TRUE(won->kvs.empty());
  auto lost = parse_txn(
      "{" + std::string(kHeader) +
      R"(,"responses":[{"response_range":{"header":{"revision":"2"},"kvs":[{"key":"L3RnL25hbWVzL2E=","create_revision":"2","mod_revision":"3","version":"1","value":"aGVsbG8=","lease":"77"}],"count":"1"}}]})");
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  EXPECT_FALSE(lost->succeeded);
  ASSERT_EQ(lost->kvs.size(), 1u);
  EXPECT_EQ(lost->kvs[0].key, "/tg/names/a");
  EXPECT_EQ(lost->kvs[0].value, "hello");
  EXPECT_EQ(lost->kvs[0].create_revision, 2);
  EXPECT_EQ(lost->kvs[0].mod_revision, 3);
  EXPECT_EQ(lost->kvs[0].lease, 77);
}

TEST(EtcdJson, ReadsRangeAndDelete) {
  auto empty = parse_range("{" + std::string(kHeader) + "}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->kvs.empty());
  EXPECT_EQ(empty->count, 0);
  auto deleted = parse_delete("{" + std::string(kHeader) + R"(,"deleted":"1"})");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->deleted, 1);
}

TEST(EtcdJson, ReadsWatchLines) {
  auto created = parse_watch_line(R"({"result":{)" + std::string(kHeader) + R"(,"created":true}})");
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->created);
  EXPECT_TRUE(created->events.empty());
  auto events = parse_watch_line(
      R"({"result":{)" + std::string(kHeader) +
      R"(,"events":[{"kv":{"key":"L3RnL25hbWVzL2E=","create_revision":"2","mod_revision":"2","version":"1","value":"aGVsbG8="}},{"type":"DELETE","kv":{"key":"L3RnL25hbWVzL2E=","mod_revision":"3"}}]}})");
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].type, WatchEvent::Type::kPut);  // PUT is proto3's default: left out
  EXPECT_EQ(events->events[0].kv.value, "hello");
  EXPECT_EQ(events->events[1].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(events->events[1].kv.mod_revision, 3);
  auto compacted = parse_watch_line(
      R"({"result":{"header":{"cluster_id":"1","member_id":"2","raft_term":"2"},"canceled":true,"compact_revision":"4"}})");
  ASSERT_TRUE(compacted.ok());
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 4);
}

TEST(EtcdJson, ReadsEtcdErrorsAndRefusesJunk) {
  const std::string unary =
      R"({"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14})";
  EXPECT_EQ(parse_error_message(unary), "etcdserver: request timed out");
  EXPECT_EQ(parse_txn(unary).error().message, "etcd: etcdserver: request timed out");
  const std::string stream =
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}})";
  EXPECT_EQ(parse_watch_line(stream).error().message, "etcd: etcdserver: no leader");
  EXPECT_EQ(parse_error_message("{}"), "");
  EXPECT_EQ(parse_error_message("not json"), "");
  EXPECT_EQ(parse_txn("").error().message, "malformed etcd answer: not JSON");
  EXPECT_EQ(parse_txn("[]").error().message, "malformed etcd answer: not an object");
  EXPECT_FALSE(parse_range(R"({"header":{"revision":"x"}})").ok());
  EXPECT_FALSE(parse_range(R"({"header":{"revision":"1"},"kvs":[{"key":"!!"}]})").ok());
  EXPECT_FALSE(parse_range(R"({"header":{"revision":"99999999999999999999"}})").ok());
  EXPECT_FALSE(
      parse_watch_line(R"({"result":{"header":{},"events":[{"type":"WEIRD","kv":{}}]}})").ok());
  EXPECT_FALSE(parse_watch_line(R"({"header":{"revision":"1"}})").ok());  // no result
}

TEST(EtcdEndpoint, ParsesAndRefuses) {
  auto plain = parse_etcd_endpoint("http://127.0.0.1:2379");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host_header, "127.0.0.1:2379");
  auto v6 = parse_etcd_endpoint("https://[::1]:2379/");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->tls);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:2379");
  auto named = parse_etcd_endpoint("https://ETCD-1.internal");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->host, "etcd-1.internal");
  EXPECT_EQ(named->port, 2379);
  for (std::string_view bad :
       {"etcd:2379", "http://", "http://a:0", "http://a:65536", "http://a:", "http://a/v3",
        "http://u@a:1", "http://[::1", "http://[zz]:1", "http://a b:1"}) {
    EXPECT_FALSE(parse_etcd_endpoint(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tg::cluster
