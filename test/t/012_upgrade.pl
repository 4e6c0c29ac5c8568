# Copyright (c) spotgo_gss contributors

# 012_upgrade.pl: ALTER EXTENSION spotgo_gss UPDATE from 0.1.0 keeps the
# data and gives the 0.2.0 behaviour.
#
# Version 0.1.0 is installed (its script only), and its tables are filled
# the way 0.1.0 left them: a pending and a dead outbox item, a SpotGo order
# id, a sync_state row and a local GSS order.  While the schema is still
# 0.1.0, the new library refuses to deliver with a clear error (55000, "must
# be updated") instead of failing on a missing function.  After ALTER
# EXTENSION ... UPDATE: the version is 0.2.0, every row is still there, the
# pending item is delivered (the sandbox's journal shows its PUT), the dead
# one is revived by the new retry_dead(), the tables are registered for
# pg_dump, and every function pins its search_path.  (The pg_regress suites
# themselves start from 0.1.0 and update, see sql/setup.sql.)

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;

my $sb = start_sandbox();
my $url = "http://127.0.0.1:$sb->{port}";

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

$node->safe_psql('postgres', qq{
CREATE EXTENSION spotgo_gss VERSION '0.1.0';
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url '$url', site_id '1234', requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (access_key 'gss-test-key');
INSERT INTO spotgo_gss.outbox (server, operation, object_key, payload, enqueued_by)
  VALUES ('gss', 'gss.upsert_order', 'UP-1', '{"packingslipno": "UP-1", "city": "Nelson"}', CURRENT_USER::regrole);
INSERT INTO spotgo_gss.outbox (server, operation, object_key, payload, enqueued_by, state, attempts, last_error)
  VALUES ('gss', 'gss.upsert_order', 'UP-2', '{"packingslipno": "UP-2"}', CURRENT_USER::regrole, 'dead', 3, 'HTTP 503');
INSERT INTO spotgo_gss.spotgo_order_ids (server, order_number, order_id)
  VALUES ('spotgo', 'SG-1', '8c7a1c1e-7d4f-4a3b-9a57-0d7b8c1e2f3a');
INSERT INTO spotgo_gss.sync_state (server, resource, watermark, last_run_start, last_run_end, rows_changed)
  VALUES ('gss', 'gss_orders', '2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00', '2026-11-01 00:00:01+00', 1);
INSERT INTO spotgo_gss.gss_orders_local (packingslipno, consignee, server, synced_at)
  VALUES ('LOC-1', 'Tui', 'gss', '2026-11-01 00:00:01+00');
});
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'spotgo_gss'"),
	'0.1.0', 'version 0.1.0 is installed');

# the new library with the old schema: a clear error, nothing sent
my ($rc, $out, $err) = $node->psql('postgres', 'CALL spotgo_gss.drain_outbox()',
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'drain_outbox() fails before the update');
like($err, qr/55000: extension spotgo_gss must be updated/, 'with 55000 and "must be updated"');
like($err, qr/ALTER EXTENSION spotgo_gss UPDATE/, 'and the hint names ALTER EXTENSION ... UPDATE');
is(scalar(@{ sandbox_journal($sb, '/api/customerorders') }), 0, 'nothing was sent');

$node->safe_psql('postgres', 'ALTER EXTENSION spotgo_gss UPDATE');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'spotgo_gss'"),
	'0.2.0', 'ALTER EXTENSION ... UPDATE reaches 0.2.0');

is($node->safe_psql('postgres', q{
SELECT (SELECT string_agg(object_key || ':' || state, ',' ORDER BY object_key) FROM spotgo_gss.outbox)
  || ' ' || (SELECT order_id::text FROM spotgo_gss.spotgo_order_ids)
  || ' ' || (SELECT watermark::date::text FROM spotgo_gss.sync_state)
  || ' ' || (SELECT string_agg(packingslipno || ':' || consignee, ',') FROM spotgo_gss.gss_orders_local)}),
	'UP-1:pending,UP-2:dead 8c7a1c1e-7d4f-4a3b-9a57-0d7b8c1e2f3a 2026-11-01 LOC-1:Tui',
	'the outbox, the SpotGo ids, the sync state and the local orders survived');

$node->safe_psql('postgres', 'CALL spotgo_gss.drain_outbox()');
is($node->safe_psql('postgres', "SELECT state FROM spotgo_gss.outbox WHERE object_key = 'UP-1'"),
	'done', 'the pending item is delivered after the update');
my $puts = journal_put_counts(sandbox_journal($sb, '/api/customerorders'));
is($puts->{'UP-1'}, 1, 'the journal shows its PUT');

is($node->safe_psql('postgres', 'SELECT revived || \' \' || superseded FROM spotgo_gss.retry_dead()'),
	'1 0', 'the new retry_dead() revives the dead item');

is($node->safe_psql('postgres', q{
SELECT string_agg(c::regclass::text, ',' ORDER BY c::regclass::text)
  FROM pg_extension, unnest(extconfig) AS c WHERE extname = 'spotgo_gss'}),
	'spotgo_gss.gss_orders_local,spotgo_gss.outbox,spotgo_gss.outbox_id_seq,'
	  . 'spotgo_gss.spotgo_order_ids,spotgo_gss.spotgo_orders_local,spotgo_gss.sync_state',
	'the tables and the outbox sequence are registered for pg_dump');

is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'spotgo_gss'
 WHERE p.proname NOT IN ('push_gss_order', 'push_spotgo_order', 'drain_outbox')
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)}),
	'0', 'every function but the triggers and drain_outbox() pins its search_path');

$node->stop;
done_testing();
