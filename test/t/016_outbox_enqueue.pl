# Copyright (c) spotgo_gss contributors

# 016_outbox_enqueue.pl: enqueuing under concurrency, and what the outbox
# row holds.
#
# The outbox row is written without SQL (src/outbox_write.c): a speculative
# insert, or an in-place update of the same role's pending item of the key.
# No delivery here (the servers point at a closed port; nothing is sent):
#   - a second session enqueuing a key that a first session has enqueued
#     but not committed waits, then replaces the committed item (version 2);
#     after a rollback it inserts its own;
#   - an enqueue of a key whose pending item is locked by a delivery waits
#     for it and then updates the new row version;
#   - under REPEATABLE READ, a pending item committed after the snapshot is
#     a serialization failure, as with INSERT .. ON CONFLICT;
#   - a savepoint rolled back takes its enqueue with it;
#   - pgbench, 4 clients, two roles, 5 keys, through enqueue() and a row
#     trigger: no error, one pending item per (key, role), and the versions
#     add up to the number of enqueues (no change lost);
#   - the default payload is to_jsonb(row), byte for byte, for many types;
#   - statement-level triggers over transition tables that spilled to disk
#     enqueue every row (a thousand at a time), and a bad row late in the
#     statement leaves nothing of it queued;
#   - committed items survive a crash (immediate stop), uncommitted do not.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $node = PostgreSQL::Test::Cluster->new('outbox_enqueue');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION spotgo_gss;
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:9', site_id '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (access_key 'k');
CREATE ROLE regress_r1;
CREATE ROLE regress_r2;
GRANT USAGE ON FOREIGN SERVER gss TO regress_r1, regress_r2;
CREATE USER MAPPING FOR regress_r1 SERVER gss OPTIONS (access_key 'k1');
CREATE USER MAPPING FOR regress_r2 SERVER gss OPTIONS (access_key 'k2');
CREATE TABLE orders (packingslipno text PRIMARY KEY, consignee text);
CREATE TRIGGER orders_push AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
GRANT ALL ON orders TO regress_r1, regress_r2;
});

# wait until the backend of $pid waits for a lock
sub wait_for_lock_wait
{
	my ($pid, $name) = @_;
	ok( $node->poll_query_until('postgres',
			"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $pid"),
		$name);
}

# the items of $key (no delivery runs here: all pending): count|version|consignee
sub key_items
{
	my ($key) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*), max(version), max(payload ->> 'consignee') FROM spotgo_gss.outbox "
		  . "WHERE object_key = '$key'");
}

sub enqueue_sql
{
	my ($key, $who) = @_;
	return "SELECT spotgo_gss.enqueue('gss.upsert_order', "
	  . "'{\"packingslipno\": \"$key\", \"consignee\": \"$who\"}') > 0";
}

# ---- a second session waits for the first one's uncommitted item ----
my $a = $node->background_psql('postgres');
my $b = $node->background_psql('postgres');
my $b_pid = $b->query_safe('SELECT pg_backend_pid()');

# session a runs $sql in a transaction; session b enqueues $key for $who and
# must wait for it; then a ends its transaction with $end and b finishes
sub second_waits
{
	my ($sql, $key, $who, $end, $name) = @_;
	$a->query_safe('BEGIN');
	$a->query_safe($sql);
	$b->query_until(qr/started/, "\\echo started\n" . enqueue_sql($key, $who) . ";\n");
	wait_for_lock_wait($b_pid, $name);
	$a->query_safe($end);
	$b->query_safe('SELECT 1');
}

second_waits(enqueue_sql('K1', 'a'), 'K1', 'b', 'COMMIT',
	'the second enqueue of K1 waits for the first transaction');
is(key_items('K1'), '1|2|b',
	'then it replaced the committed item: one pending item, version 2, its payload');

second_waits(enqueue_sql('K2', 'a'), 'K2', 'b', 'ROLLBACK',
	'the second enqueue of K2 waits for the first transaction');
is(key_items('K2'), '1|1|b',
	'after a rollback of the first, the second inserted its own item');

# ---- an item locked by a delivery (the claim's UPDATE) ----
second_waits(
	"UPDATE spotgo_gss.outbox SET claimed_by = pg_backend_pid(), claimed_at = now() WHERE object_key = 'K1'",
	'K1', 'c', 'COMMIT', 'an enqueue of a key whose item is being claimed waits');
is( $node->safe_psql('postgres',
		"SELECT count(*), max(version), max(payload ->> 'consignee'), bool_and(claimed_by IS NOT NULL) "
		  . "FROM spotgo_gss.outbox WHERE object_key = 'K1'"),
	'1|3|c|t',
	'then it updated the claimed row version: version 3, the claim kept (delivery sees the version change)');

# ---- REPEATABLE READ ----
my $rr = $node->background_psql('postgres', on_error_stop => 0);
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$rr->query_safe('SELECT count(*) FROM spotgo_gss.outbox');
$node->safe_psql('postgres', enqueue_sql('K3', 'committed later'));
my ($out, $ret) = $rr->query(enqueue_sql('K3', 'a'));
ok($ret != 0 && $rr->{stderr} =~ /could not serialize access due to concurrent update/,
	'REPEATABLE READ: a pending item committed after the snapshot is a serialization failure');
$rr->quit;

# ---- savepoints ----
$a->query_safe('BEGIN');
$a->query_safe('SAVEPOINT s');
$a->query_safe(enqueue_sql('K4', 'gone'));
$a->query_safe('ROLLBACK TO SAVEPOINT s');
$a->query_safe(enqueue_sql('K4', 'kept'));
$a->query_safe(enqueue_sql('K4', 'kept again'));
$a->query_safe('COMMIT');
is(key_items('K4'), '1|2|kept again',
	'a rolled-back savepoint takes its enqueue along; later ones coalesce');

$a->quit;
$b->quit;

# ---- many sessions, two roles, few keys ----
$node->safe_psql('postgres', 'TRUNCATE spotgo_gss.outbox');
$node->pgbench(
	'--no-vacuum --client=4 --transactions=300',
	0,
	[qr{processed: 1200/1200}],
	[qr{^$}],
	'pgbench: concurrent enqueues of 5 keys by two roles, directly and through a row trigger',
	{
		'007_enqueue' => q{
\set k random(1, 5)
\set r random(1, 2)
\set how random(1, 2)
SELECT set_config('role', 'regress_r' || :r, false);
SELECT CASE WHEN :how = 1
  THEN spotgo_gss.enqueue('gss.upsert_order', jsonb_build_object('packingslipno', 'P' || :k, 'consignee', :client_id))
  END;
INSERT INTO orders SELECT 'P' || :k, :client_id::text WHERE :how = 2
  ON CONFLICT (packingslipno) DO UPDATE SET consignee = excluded.consignee || '.' || random();
RESET role;
}
	});
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM (SELECT 1 FROM spotgo_gss.outbox WHERE state = 'pending' "
		  . "GROUP BY server, object_key, enqueued_by HAVING count(*) > 1) d"),
	'0', 'at most one pending item per (server, key, role)');
my $enqueues = $node->safe_psql('postgres', 'SELECT sum(version) FROM spotgo_gss.outbox');
my $keys = $node->safe_psql('postgres',
	'SELECT count(DISTINCT object_key) || \'|\' || count(DISTINCT enqueued_by) FROM spotgo_gss.outbox');
is($keys, '5|2', 'every key has items, of both roles');
# each transaction enqueued once, except a trigger's UPDATE that changed
# nothing the API sees (never here: the consignee always changes)
is($enqueues, '1200', 'the versions add up to the 1,200 enqueues: no change lost');

# ---- the default payload is to_jsonb(row) ----
$node->safe_psql('postgres', q{
CREATE DOMAIN regress_code AS varchar(20);
CREATE TYPE regress_pair AS (a int, b text);
CREATE TABLE typed (packingslipno text PRIMARY KEY, n int, big bigint, num numeric, f float8,
  b boolean, d date, ts timestamp, tz timestamptz, vc varchar(10), bc char(5), code regress_code,
  "ä" text, "a b" text, dropped text, u uuid, iv interval, j jsonb, js json, arr int[],
  pair regress_pair);
ALTER TABLE typed DROP COLUMN dropped;
CREATE TRIGGER typed_push AFTER INSERT OR UPDATE ON typed
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
CREATE TABLE typed_bulk (LIKE typed);
CREATE TRIGGER typed_bulk_push AFTER INSERT ON typed_bulk REFERENCING NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order();
INSERT INTO typed VALUES
  ('T1', 1, 2, 3.50, 1.5, true, '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05+02',
   'vc', 'bc', 'code', 'umlaut', 'space', gen_random_uuid(), '1 day', '{"k": 1}', '{"k": 2}',
   '{1,2}', '(1,x)'),
  ('T2', NULL, NULL, 'NaN', 'Infinity', false, NULL, NULL, NULL, NULL, 'x', NULL,
   E'quote" \\\\ back \n nl', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  ('T3', -5, NULL, 1e30, 1e-5, NULL, 'infinity', NULL, NULL, repeat('é', 10), NULL, NULL,
   repeat('long ', 2000), '', NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO typed (packingslipno) VALUES ('T4');
ALTER TABLE typed DROP COLUMN j, DROP COLUMN js, DROP COLUMN arr, DROP COLUMN pair;
UPDATE typed SET n = coalesce(n, 0) + 1;
INSERT INTO typed_bulk SELECT 'B' || i, i, i FROM generate_series(1, 3) i;
});
is( $node->safe_psql('postgres', q{
SELECT count(*), count(*) FILTER (WHERE pg_catalog.jsonb_send(o.payload) = pg_catalog.jsonb_send(to_jsonb(t)))
  FROM spotgo_gss.outbox o JOIN typed t ON t.packingslipno = o.object_key}),
	'4|4',
	'the default payload is to_jsonb(row), byte for byte (text, numbers, dates, domains, nulls, dropped columns)');
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE pg_catalog.jsonb_send(o.payload) = pg_catalog.jsonb_send(to_jsonb(t)))
  FROM spotgo_gss.outbox o JOIN typed_bulk t ON t.packingslipno = o.object_key}),
	'3', 'the same for a statement-level trigger, with containers in the row');

# ---- statement-level triggers over transition tables spilled to disk ----
$node->safe_psql('postgres', q{
SET work_mem = '64kB';
TRUNCATE spotgo_gss.outbox;
CREATE TABLE bulk (packingslipno text PRIMARY KEY, consignee text);
CREATE TRIGGER bulk_ins AFTER INSERT ON bulk REFERENCING NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order();
CREATE TRIGGER bulk_upd AFTER UPDATE ON bulk REFERENCING OLD TABLE AS o NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION spotgo_gss.push_gss_order();
INSERT INTO bulk SELECT 'BK' || i, 'consignee ' || i FROM generate_series(1, 5000) i;
UPDATE bulk SET consignee = consignee || '!';
});
is( $node->safe_psql('postgres', q{
SELECT count(*), min(version), max(version), bool_and(payload ->> 'consignee' LIKE '%!')
  FROM spotgo_gss.outbox WHERE object_key LIKE 'BK%' AND state = 'pending'}),
	'5000|2|2|t',
	'statement-level triggers over 5,000 rows spilled to disk: every row enqueued, then replaced');
is( $node->psql('postgres', q{
SET work_mem = '64kB';
INSERT INTO bulk SELECT 'BX' || i, 'x' FROM generate_series(1, 2500) i
  UNION ALL SELECT '', 'bad'}),
	3, 'a bad row after two thousand good ones fails the statement');
is( $node->safe_psql('postgres', "SELECT count(*) FROM spotgo_gss.outbox WHERE object_key LIKE 'BX%'"),
	'0', 'and nothing of it stays queued');

# ---- crash ----
$node->safe_psql('postgres', 'TRUNCATE spotgo_gss.outbox');
$node->safe_psql('postgres', "INSERT INTO orders VALUES ('C1', 'committed')");
my $c = $node->background_psql('postgres');
$c->query_safe('BEGIN');
$c->query_safe("INSERT INTO orders VALUES ('C2', 'not committed')");
$node->stop('immediate');
$c->quit;
$node->start;
is( $node->safe_psql('postgres', 'SELECT string_agg(object_key, \',\') FROM spotgo_gss.outbox'),
	'C1', 'after a crash: the committed item is there, the uncommitted one is not');

$node->stop;
done_testing();
