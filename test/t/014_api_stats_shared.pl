# Copyright (c) spotgo_gss contributors

# 014_api_stats_shared.pl: with spotgo_gss preloaded, spotgo_gss.api_stats is
# one set of counters for every session and the outbox worker.
#
# Two sessions each ask GSS for one order's status (GET /v2/order/{...}),
# and the worker delivers an enqueued upload (PUT /api/customerorders).
# A third session then reads one row for the status endpoint with 2 calls,
# and one row for the upload endpoint with the worker's call, matching the
# sandbox's journal; with requests_per_minute reached, a client-side pause
# counts as throttled.  No NOTICE about per-session counting appears.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('api_stats');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'postgres'
spotgo_gss.worker_naptime = '1h'
});
$node->start;
setup_extension($node, $sb);
$node->safe_psql('postgres', 'SELECT spotgo_gss.api_stats_reset()');
sandbox_ctl($sb, 'journal/clear', {});

# two sessions (each psql is one)
$node->safe_psql('postgres', "SELECT spotgo_gss.gss_order_status('ST-A') IS NULL");
$node->safe_psql('postgres', "SELECT spotgo_gss.gss_order_status('ST-B') IS NULL");

# the worker: an upload, delivered on commit
$node->safe_psql('postgres',
	q{SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "ST-W"}')});
ok(wait_for_query($node, q{SELECT state FROM spotgo_gss.outbox WHERE object_key = 'ST-W'}, 'done'),
	'the worker delivered the upload');

my $journal = sandbox_journal($sb);
my $status_requests = scalar grep { $_->{path} =~ m{^/v2/order/} } @$journal;
my $puts = scalar grep { $_->{method} eq 'PUT' } @$journal;
is($status_requests, 2, 'the sandbox received two status requests');
is($puts, 1, 'and one PUT');

my ($rc, $rows, $err) = $node->psql('postgres', q{
SELECT method || ' ' || endpoint || ' ' || calls || ' ' || errors || ' ' || last_status
  FROM spotgo_gss.api_stats WHERE server = 'gss' ORDER BY endpoint, method});
is($rc, 0, 'a third session reads api_stats');
is($rows, "PUT /api/customerorders 1 0 200\nGET /v2/order/{packingslipno} 2 2 404",
	'one row per endpoint template: both sessions\' calls and the worker\'s, no identifiers');
unlike($err, qr/this session's calls only/, 'no notice about per-session counting');

# a client-side rate-limit pause counts as throttled
$node->safe_psql('postgres', "ALTER SERVER gss OPTIONS (SET requests_per_minute '1')");
my ($rc2, $out2, $err2) = $node->psql('postgres', q{
SET statement_timeout = '1s';
SELECT spotgo_gss.gss_order_status('ST-C') IS NULL;
SELECT spotgo_gss.gss_order_status('ST-D') IS NULL;
}, extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
like($err2, qr/57014/, 'the second request of the minute waits until cancelled');
is($node->safe_psql('postgres', q{SELECT calls || ' ' || throttled FROM spotgo_gss.api_stats
  WHERE endpoint = '/v2/order/{packingslipno}'}),
	'3 1', 'the pause is counted as throttled; the cancelled request was never sent');

$node->stop;
stop_sandbox($sb);
done_testing();
