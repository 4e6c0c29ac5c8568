# Copyright (c) spotgo_gss contributors

# 010_pg_dump_outbox.pl: pg_dump keeps the outbox, the SpotGo order ids and
# the sync tables, and a restored outbox goes on numbering after its
# highest id.
#
# No worker.  A sync fills gss_orders_local and sync_state; CALL
# drain_outbox() delivers a SpotGo upsert (done, its orderId remembered in
# spotgo_order_ids) and fails a GSS upsert for good (400: dead); two more
# items stay pending.  The database is dumped twice, as plain SQL restored
# with psql and in the custom format restored with pg_restore, each into a
# fresh database.  In each: the outbox has the same rows (every column,
# compared through a digest of the rows in key order; and the counts per
# state), and so do spotgo_order_ids, sync_state and gss_orders_local; a
# new enqueue gets an id above the old highest one.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;
setup_extension($node, $sb);

# sync: gss_orders_local and sync_state
sandbox_ctl($sb, 'gss/orders', { generate => { count => 3, prefix => 'DMP' } });
is($node->safe_psql('postgres', 'SELECT spotgo_gss.sync_gss_orders() > 0'),
	't', 'the sync wrote rows');

# a done SpotGo item (its orderId remembered), a dead GSS item, two pending
sandbox_ctl($sb, 'fault',
	{ path => '/api/customerorders', method => 'PUT', status => 400, times => 1 });
$node->safe_psql('postgres', q{
SELECT spotgo_gss.enqueue('spotgo.upsert_order',
  '{"orderNumber": "DMP-SG", "carrier": {"name": "Trans", "vatCode": "PL1"}}');
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "DMP-DEAD"}');
SET client_min_messages = error;
CALL spotgo_gss.drain_outbox();
RESET client_min_messages;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "DMP-P1", "city": "Nelson"}');
SELECT spotgo_gss.enqueue('gss.delete_order', '{"packingslipno": "DMP-P2"}');
});

my $states = q{SELECT string_agg(state || ' ' || n, ', ' ORDER BY state)
  FROM (SELECT state, count(*) AS n FROM spotgo_gss.outbox GROUP BY state) s};
is($node->safe_psql('postgres', $states), 'dead 1, done 1, pending 2',
	'the outbox holds a dead, a done and two pending items');

# every table's rows, in key order, as one digest; and counts
my %digest_sql = (
	outbox => 'SELECT count(*) || \' \' || md5(string_agg(t::text, \'|\' ORDER BY id)) FROM spotgo_gss.outbox t',
	spotgo_order_ids => 'SELECT count(*) || \' \' || md5(string_agg(t::text, \'|\' ORDER BY server, order_number)) FROM spotgo_gss.spotgo_order_ids t',
	sync_state => 'SELECT count(*) || \' \' || md5(string_agg(t::text, \'|\' ORDER BY server, resource)) FROM spotgo_gss.sync_state t',
	gss_orders_local => 'SELECT count(*) || \' \' || md5(string_agg(t::text, \'|\' ORDER BY server, packingslipno)) FROM spotgo_gss.gss_orders_local t',
);
my %before = map { $_ => $node->safe_psql('postgres', $digest_sql{$_}) } keys %digest_sql;
note "$_: $before{$_}" foreach sort keys %before;
like($before{spotgo_order_ids}, qr/^1 /, 'one remembered SpotGo orderId');
like($before{sync_state}, qr/^1 /, 'one sync_state row');
like($before{gss_orders_local}, qr/^3 /, 'three gss_orders_local rows');
my $max_id = $node->safe_psql('postgres', 'SELECT max(id) FROM spotgo_gss.outbox');
my $columns = q{SELECT string_agg(object_key || ' ' || operation || ' ' || state || ' ' || attempts
    || ' ' || coalesce(last_status::text, '-'), ', ' ORDER BY id)
  FROM spotgo_gss.outbox};
my $columns_before = $node->safe_psql('postgres', $columns);
note "outbox: $columns_before";

my $dir = PostgreSQL::Test::Utils::tempdir();
my %restore = (
	plain => [ [ 'pg_dump', '-Fp', '-f', "$dir/plain.sql" ],
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$dir/plain.sql" ] ],
	custom => [ [ 'pg_dump', '-Fc', '-f', "$dir/custom.dump" ],
		[ 'pg_restore', '--exit-on-error', "$dir/custom.dump" ] ],
);
foreach my $format (sort keys %restore)
{
	my ($dump, $load) = @{ $restore{$format} };
	my $db = "restored_$format";

	$node->command_ok([ @$dump, '-d', $node->connstr('postgres') ], "$format: pg_dump");
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->command_ok([ @$load, '-d', $node->connstr($db) ], "$format: restore into a new database");

	is($node->safe_psql($db, $states), 'dead 1, done 1, pending 2',
		"$format: the restored outbox has the dead, done and pending items");
	is($node->safe_psql($db, $columns), $columns_before,
		"$format: keys, operations, states, attempts and statuses are kept");
	foreach my $table (sort keys %digest_sql)
	{
		is($node->safe_psql($db, $digest_sql{$table}), $before{$table},
			"$format: $table has the same rows");
	}
	my $new_id = $node->safe_psql($db,
		q{SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "DMP-NEW"}')});
	cmp_ok($new_id, '>', $max_id,
		"$format: a new enqueue gets an id ($new_id) above the old highest ($max_id)");
}

$node->stop;
stop_sandbox($sb);

done_testing();
