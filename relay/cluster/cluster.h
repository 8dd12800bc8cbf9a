/// relay/cluster: the relay as one node of several, coordinated through etcd v3.
///
/// This folder owns everything a node knows about the other nodes and everything it keeps in
/// etcd: the client of etcd's JSON gateway (etcd_client.h, etcd_watch.h, with the pure
/// readers and writers of its messages in etcd_json.h), the node's lease and the fence that
/// stops it serving before the lease can have expired (lease_keeper.h), and the cluster-wide
/// ownership of names (name_record.h, name_claim.h). It runs on control threads only: every
/// call here may block for up to `[cluster] request_deadline_ms`, so a worker's loop never
/// calls into it; workers will learn what the cluster decided through their mailboxes.
///
/// Without a `[cluster]` section (the default) none of this runs and the relay is a single
/// node, exactly as before. Still to come on top of these pieces (issue 16): the cluster
/// thread that keeps the lease and the watches, claims on the publisher path, route tables
/// fed from the watch, the layer-4 splice to the owner's internal listener, and fencing in the
/// workers.
///
/// Why etcd's v3 JSON gateway over HTTP/1.1, not gRPC. Measured on the target machine
/// (Debian 12, etcd 3.4.23): a txn on a kept-alive gateway connection takes about 0.5 ms on
/// one member and 1.2 ms on three; gRPC would save 0.1-0.2 ms of that. Claims happen once per
/// publisher connection and renewals every few seconds, so that saving buys nothing a visitor
/// or publisher can see. Against it: Debian ships no etcd client for C++, so gRPC means
/// generating code from golang-etcd-server-dev's .proto files and linking gRPC 1.51 (57 shared
/// libraries, its own threads and its own TLS), beside the wolfSSL and HTTP code the relay
/// already has and tests. The gateway is the same API (same messages, in proto3's JSON
/// mapping), its streams (watch, keepalive) are one JSON object per line over chunked HTTP,
/// and the client is a few hundred lines over relay/net/http_client.h and simdjson. Every call
/// carries the relay's own deadline rather than etcd's (a request in flight when the leader
/// dies hangs about 7 s before etcd answers 503).
///
/// Layout in etcd, under `[cluster] key_prefix` (default "/tunnelgate/"):
///   names/<name>   a NameRecord, under the claiming node's lease
#pragma once

#include "relay/cluster/etcd_client.h"
#include "relay/cluster/etcd_endpoint.h"
#include "relay/cluster/etcd_json.h"
#include "relay/cluster/etcd_watch.h"
#include "relay/cluster/lease_keeper.h"
#include "relay/cluster/name_claim.h"
#include "relay/cluster/name_record.h"
