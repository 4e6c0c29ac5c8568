# Copyright (c) spotgo_gss contributors

# 009_no_snapshot_during_send.pl: while a drainer waits for the API, it
# holds no snapshot and no transaction id, so it does not hold back VACUUM.
#
# The sandbox answers every GSS PUT 3 s late.  Twice, once for CALL
# spotgo_gss.drain_outbox() in a session of its own (library not
# preloaded) and once for the background worker (preloaded, after a
# restart): one item is enqueued, and while its PUT is in flight (the
# journal shows it without an answer) the drainer's pg_stat_activity row
# has backend_xmin and backend_xid NULL; rows of a scratch table deleted
# after the send began are removed by a VACUUM run meanwhile (none "dead
# but not yet removable"); the PUT is still unanswered after the VACUUM, so
# both happened during the send; then the item is done.  Autovacuum is off,
# so nothing else holds the horizon.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;

my $rows = 1000;

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('no_snapshot');
$node->init;
$node->append_conf('postgresql.conf', qq{
autovacuum = off
spotgo_gss.max_attempts = 100
});
$node->start;
setup_extension($node, $sb);
$node->safe_psql('postgres', 'CREATE TABLE scratch (i int)');
sandbox_ctl($sb, 'fault',
	{ path => '/api/customerorders', method => 'PUT', delay_ms => 3000, times => -1 });

# Enqueue one item (key $key) for the drainer, which $start_drain starts;
# while its PUT is in flight, check the drainer's row of pg_stat_activity
# (selected by $where) and VACUUM; then wait for the item to be done.
sub check_send
{
	my ($label, $key, $where, $start_drain) = @_;

	sandbox_ctl($sb, 'journal/clear', {});
	$node->safe_psql('postgres', qq{
TRUNCATE scratch;
INSERT INTO scratch SELECT generate_series(1, $rows);
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "$key"}');
});
	$start_drain->() if $start_drain;

	my $put = wait_for_pending_request($sb, 'PUT', '/api/customerorders');
	ok($put, "$label: a PUT is in flight");
	is($node->safe_psql('postgres', qq{SELECT backend_xmin IS NULL AND backend_xid IS NULL
  FROM pg_stat_activity WHERE $where}), 't',
		"$label: while it waits for the API, backend_xmin and backend_xid are NULL");
	note "$label: " . $node->safe_psql('postgres', qq{SELECT backend_type, state, backend_xmin, backend_xid
  FROM pg_stat_activity WHERE $where});

	# dead rows younger than the send: VACUUM must be able to remove them
	$node->safe_psql('postgres', 'DELETE FROM scratch');
	my ($ret, $out, $err) = $node->psql('postgres', 'VACUUM (VERBOSE) scratch');
	my ($removed, $not_yet) =
	  $err =~ /tuples: (\d+) removed, \d+ remain, (\d+) are dead but not yet removable/;
	is(($removed // 'no') . '/' . ($not_yet // 'no'), "$rows/0",
		"$label: VACUUM removes the $rows rows deleted during the send, none left dead");
	my ($same) = grep { $_->{seq} == $put->{seq} } @{ sandbox_journal($sb, '/api/customerorders') };
	ok($same && !defined $same->{status},
		"$label: the PUT was still unanswered after the VACUUM");

	ok(wait_for_query($node,
		"SELECT state FROM spotgo_gss.outbox WHERE object_key = '$key'", 'done'),
		"$label: the item is delivered");
	return;
}

# ---------------------------------------------------------------------------
# CALL spotgo_gss.drain_outbox() in a session of its own

my $session = $node->background_psql('postgres', timeout => 60);
my $call_pid = $session->query_safe('SELECT pg_backend_pid()');
check_send('CALL drain_outbox()', 'NS-CALL', "pid = $call_pid", sub {
	$session->query_until(qr/calling\n/, "\\echo calling\nCALL spotgo_gss.drain_outbox();\n");
});
$session->quit;

# ---------------------------------------------------------------------------
# the background worker

$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'postgres'
});
$node->restart;
ok(wait_until(sub { worker_pid($node) ne '' }), 'the worker runs');
check_send('worker', 'NS-WORKER', "backend_type = 'spotgo_gss outbox worker'");

$node->stop;
stop_sandbox($sb);

done_testing();
