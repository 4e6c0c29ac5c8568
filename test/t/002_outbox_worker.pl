# Copyright (c) spotgo_gss contributors

# 002_outbox_worker.pl: the background worker delivers the outbox.
#
# One preloaded cluster with the worker's naptime at its maximum (1 h), so
# that an item delivered while the worker naps can only have been delivered
# because the enqueuing commit woke it; no timing is asserted (the latency
# is only logged).  Covered: a committed INSERT through push_gss_order()
# reaches the sandbox and the item becomes done; a rolled-back INSERT
# queues and sends nothing; UPDATE and DELETE are delivered (the DELETE as a
# DELETE); SpotGo through push_spotgo_order() with a mapping function,
# upsert then delete; the worker comes back after being terminated and
# still delivers on commit.  Then, with a short naptime (set by ALTER
# SYSTEM and a reload), the sandbox is stopped: items wait as pending with
# attempts and last_error, and are delivered once the sandbox is back on
# the same port.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;
use Time::HiRes qw(time);

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('outbox_worker');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'postgres'
spotgo_gss.worker_naptime = '1h'
spotgo_gss.max_attempts = 100
});
$node->start;
setup_extension($node, $sb);

$node->safe_psql('postgres', q{
CREATE TABLE orders (packingslipno text PRIMARY KEY, consignee text, city text);
CREATE TRIGGER orders_push AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
CREATE TABLE orders2 (no text PRIMARY KEY, carrier text);
CREATE FUNCTION orders2_payload(o orders2) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('orderNumber', o.no,
                            'carrier', jsonb_build_object('name', o.carrier, 'vatCode', 'PL1'))
$$;
CREATE TRIGGER orders2_push AFTER INSERT OR UPDATE OR DELETE ON orders2
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_spotgo_order('orders2_payload(orders2)');
});

my $worker_napping = q{SELECT wait_event FROM pg_stat_activity
  WHERE backend_type = 'spotgo_gss outbox worker'};

# the state of the outbox items of one key, oldest first: "op state, ..."
sub states_of
{
	my ($key) = @_;
	return qq{SELECT string_agg(operation || ' ' || state, ', ' ORDER BY id)
  FROM spotgo_gss.outbox WHERE object_key = '$key'};
}

# GSS orders the sandbox holds, by number, and the numbers it deleted
sub gss_state
{
	my $s = sandbox_ctl($sb, 'gss/orders');
	my %orders = map { $_->{packingslipno} => $_ } @{ $s->{orders} };
	return (\%orders, { map { $_ => 1 } @{ $s->{deleted} } });
}

# ---------------------------------------------------------------------------
# wake on commit: the worker naps for an hour, a commit makes it deliver

ok(wait_for_query($node, $worker_napping, 'Extension'),
	'the worker runs and naps (wait event Extension)');

my $t0 = time;
$node->safe_psql('postgres',
	"INSERT INTO orders VALUES ('A1', 'Tui', 'Nelson')");
ok(wait_for_query($node, states_of('A1'), 'gss.upsert_order done'),
	'committed INSERT: the item becomes done while the worker naps 1 h (woken by the commit)');
note sprintf('INSERT committed to item done: %.3f s (polling included)', time - $t0);

my $puts = journal_put_counts(sandbox_journal($sb, '/api/customerorders'));
is($puts->{A1}, 1, 'the journal shows one PUT /api/customerorders with A1');
my ($orders) = gss_state();
ok($orders->{A1}, 'the sandbox has order A1');
is(join('|', map { $orders->{A1}{$_} // 'null' } qw(consignee city)),
	'Tui|Nelson', 'A1 arrived with the row\'s consignee and city');
is($node->safe_psql('postgres',
	"SELECT last_status, sent_at IS NOT NULL, attempts FROM spotgo_gss.outbox WHERE object_key = 'A1'"),
	'200|t|1', 'A1: status 200, sent_at set, one attempt');

# ---------------------------------------------------------------------------
# a rolled-back INSERT queues nothing, so nothing can be sent

$node->safe_psql('postgres', q{
BEGIN;
INSERT INTO orders VALUES ('RB1', 'Moa', 'Nowhere');
ROLLBACK;
});
is($node->safe_psql('postgres',
	"SELECT count(*) FROM spotgo_gss.outbox WHERE object_key = 'RB1'"),
	'0', 'rolled-back INSERT: no outbox item');

# ---------------------------------------------------------------------------
# UPDATE and DELETE

$node->safe_psql('postgres',
	"UPDATE orders SET city = 'Picton' WHERE packingslipno = 'A1'");
ok(wait_for_query($node, states_of('A1'), 'gss.upsert_order done, gss.upsert_order done'),
	'UPDATE: a second upsert item, done');
my $journal = sandbox_journal($sb, '/api/customerorders');
my @puts_a1 = grep { $_->{method} eq 'PUT' && grep { $_->{packingslipno} eq 'A1' } @{ $_->{json} } } @$journal;
is(scalar(@puts_a1), 2, 'the journal shows two PUTs with A1');
is($puts_a1[-1]{json}[0]{city}, 'Picton', 'the second PUT carries the new city');
($orders) = gss_state();
is($orders->{A1}{city}, 'Picton', 'the sandbox has the updated city');

$node->safe_psql('postgres', "DELETE FROM orders WHERE packingslipno = 'A1'");
ok(wait_for_query($node, states_of('A1'),
	'gss.upsert_order done, gss.upsert_order done, gss.delete_order done'),
	'DELETE: a delete item, done');
$journal = sandbox_journal($sb, '/api/customerorders');
my @deletes = grep { $_->{method} eq 'DELETE' } @$journal;
is(scalar(@deletes), 1, 'the journal shows one DELETE /api/customerorders');
is($deletes[0]{args}{packingslipno}, 'A1', 'the DELETE names A1');
my $deleted;
($orders, $deleted) = gss_state();
ok(!$orders->{A1} && $deleted->{A1}, 'the sandbox has deleted A1');

# nothing of the rolled-back row ever went out
$puts = journal_put_counts($journal);
ok(!exists $puts->{RB1}, 'the rolled-back RB1 was never sent');

# ---------------------------------------------------------------------------
# SpotGo through a mapping function

$node->safe_psql('postgres', "INSERT INTO orders2 VALUES ('SG-1', 'Trans')");
ok(wait_for_query($node, states_of('SG-1'), 'spotgo.upsert_order done'),
	'SpotGo INSERT: the item becomes done');
$journal = sandbox_journal($sb, '/api/v1/');
my @upserts = grep { $_->{method} eq 'POST' && $_->{path} eq '/api/v1/orders/upsert' } @$journal;
is(scalar(@upserts), 1, 'the journal shows one POST /api/v1/orders/upsert');
is($upserts[0]{json}{orderNumber} // '', 'SG-1', 'the upsert carries orderNumber SG-1');
is(($upserts[0]{json}{carrier}{name} // '') . '/' . ($upserts[0]{json}{carrier}{vatCode} // ''),
	'Trans/PL1', 'the upsert is the mapping function\'s payload');
my @sg = grep { ($_->{orderNumber} // '') eq 'SG-1' } @{ sandbox_ctl($sb, 'spotgo/orders')->{orders} };
is(scalar(@sg), 1, 'the sandbox has SpotGo order SG-1');
my $order_id = $node->safe_psql('postgres',
	"SELECT order_id FROM spotgo_gss.spotgo_order_ids WHERE order_number = 'SG-1'");
is($order_id, $sg[0]{orderId} // '', 'its orderId is remembered in spotgo_order_ids');

$node->safe_psql('postgres', "DELETE FROM orders2 WHERE no = 'SG-1'");
ok(wait_for_query($node, states_of('SG-1'), 'spotgo.upsert_order done, spotgo.delete_order done'),
	'SpotGo DELETE: the delete item becomes done');
$journal = sandbox_journal($sb, '/api/v1/');
my @sg_deletes = grep { $_->{method} eq 'DELETE' } @$journal;
is(join(' ', map { $_->{path} } @sg_deletes), "/api/v1/orders/$order_id",
	'the journal shows DELETE /api/v1/orders/{orderId}');

# ---------------------------------------------------------------------------
# the worker comes back after being terminated, and still wakes on commit

my $old_pid = worker_pid($node);
isnt($old_pid, '', "the worker runs (pid $old_pid)");
is($node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE backend_type = 'spotgo_gss outbox worker'}), 't', 'the worker is terminated');
my $new_pid = wait_until(sub {
	my $p = worker_pid($node);
	return ($p ne '' && $p ne $old_pid) ? $p : undef;
});
ok($new_pid, 'a new worker starts (bgw_restart_time)');
note "new worker pid: " . ($new_pid // 'none');
ok(wait_for_query($node, $worker_napping, 'Extension'), 'the new worker naps');

$node->safe_psql('postgres', "INSERT INTO orders VALUES ('A2', 'Kea', 'Otago')");
ok(wait_for_query($node, states_of('A2'), 'gss.upsert_order done'),
	'after the restart a committed INSERT is delivered (naptime still 1 h)');
$puts = journal_put_counts(sandbox_journal($sb, '/api/customerorders'));
is($puts->{A2}, 1, 'the journal shows A2 sent once');

# ---------------------------------------------------------------------------
# sandbox down: items wait, with attempts and an error; back up: delivered

$node->safe_psql('postgres', q{
ALTER SYSTEM SET spotgo_gss.worker_naptime = '200ms';
SELECT pg_reload_conf();
});

my $port = $sb->{port};
stop_sandbox($sb);

$node->safe_psql('postgres',
	"INSERT INTO orders VALUES ('D1', 'Weka', 'Hokitika'), ('D2', 'Kaka', 'Westport')");
ok(wait_for_query($node, q{SELECT count(*) FROM spotgo_gss.outbox
  WHERE object_key IN ('D1', 'D2') AND state = 'pending' AND attempts >= 1 AND last_error IS NOT NULL},
	'2'),
	'sandbox down: both items pending with attempts >= 1 and last_error set');
note 'last_error: ' . $node->safe_psql('postgres',
	"SELECT last_error FROM spotgo_gss.outbox WHERE object_key = 'D1'");
is($node->safe_psql('postgres', q{SELECT count(*) FROM spotgo_gss.outbox
  WHERE object_key IN ('D1', 'D2') AND state <> 'pending'}),
	'0', 'sandbox down: nothing done or dead (max_attempts 100)');

$sb = start_sandbox($port);
is($sb->{port}, $port, 'the sandbox is back on the same port');

# what an operator does after fixing the API: make the waiting items due now
# (repeated, in case an attempt was in flight and set a new back-off)
ok(wait_for_query($node, q{
UPDATE spotgo_gss.outbox SET next_attempt_at = now()
 WHERE state = 'pending' AND claimed_by IS NULL AND next_attempt_at > now();
SELECT count(*) FROM spotgo_gss.outbox WHERE object_key IN ('D1', 'D2') AND state = 'done'},
	'2'),
	'sandbox back: both items delivered');
$puts = journal_put_counts(sandbox_journal($sb, '/api/customerorders'));
ok($puts->{D1} && $puts->{D2}, 'the journal of the new sandbox shows D1 and D2 PUT');
($orders) = gss_state();
ok($orders->{D1} && $orders->{D2}, 'the sandbox has D1 and D2');
is($node->safe_psql('postgres', q{SELECT bool_and(attempts >= 2) FROM spotgo_gss.outbox
  WHERE object_key IN ('D1', 'D2')}), 't', 'D1 and D2 took more than one attempt');
ok($node->log_contains(qr/delivery of outbox item \d+ \(gss\.upsert_order on server "gss", key "D1"\) failed, will retry/),
	'the first failure is logged');

$node->stop;
stop_sandbox($sb);

done_testing();
