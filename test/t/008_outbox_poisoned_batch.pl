# Copyright (c) spotgo_gss contributors

# 008_outbox_poisoned_batch.pl: with the worker running, an API answer that
# cannot be recorded is one failed attempt of its item, never a batch sent
# again every round, and it holds back no other item.
#
# SpotGo answers every upsert with "orderId": "not-a-uuid", which the
# spotgo_order_ids table cannot store.  Three SpotGo items and one GSS item
# are enqueued in one transaction, so the worker (naptime 200 ms) claims
# them as one batch.  Then: the GSS item is done; each SpotGo item is
# pending with attempts = 1, a last_error naming the uuid, and a retry time
# in the future; until that time comes (a second or two, many worker
# rounds) the journal shows exactly the 3 upserts of the first attempt.
# After it, the second attempt sends each once more: one POST per attempt.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;
use Time::HiRes qw(usleep time);

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('poisoned');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'postgres'
spotgo_gss.worker_naptime = '200ms'
spotgo_gss.max_attempts = 100
});
$node->start;
setup_extension($node, $sb);

sandbox_ctl($sb, 'fault', {
	path => '/api/v1/orders/upsert', status => 200, times => -1,
	body => { created => JSON::PP::true, updated => JSON::PP::false,
		linkChanged => JSON::PP::false,
		order => { orderId => 'not-a-uuid', orderNumber => 'P-1' } } });

$node->safe_psql('postgres', q{
BEGIN;
SELECT spotgo_gss.enqueue('spotgo.upsert_order', jsonb_build_object('orderNumber', 'P-' || i))
  FROM generate_series(1, 3) i;
SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "P-GSS"}');
COMMIT;
});

# the number of upsert POSTs in the journal
sub upserts
{
	return scalar grep { $_->{method} eq 'POST' && $_->{path} eq '/api/v1/orders/upsert' }
	  @{ sandbox_journal($sb, '/api/v1/') };
}

ok(wait_for_query($node, q{SELECT count(*) FROM spotgo_gss.outbox
  WHERE object_key LIKE 'P-_' AND attempts >= 1 AND claimed_by IS NULL}, '3'),
	'the worker made a first attempt at the three SpotGo items');
my ($due_at, $due_in) = split /\|/, $node->safe_psql('postgres', q{SELECT min(next_attempt_at),
    extract(epoch FROM min(next_attempt_at) - clock_timestamp())
  FROM spotgo_gss.outbox WHERE object_key LIKE 'P-_'});
note "first retry due in $due_in s";
my $due_time = time + $due_in;    # the same moment on this clock
is($node->safe_psql('postgres', q{SELECT string_agg(object_key || ' ' || state || ' ' || attempts
    || ' ' || (next_attempt_at > clock_timestamp())::int || ' ' || (last_error LIKE '%uuid%')::int, ', '
    ORDER BY object_key)
  FROM spotgo_gss.outbox WHERE object_key LIKE 'P-_'}),
	'P-1 pending 1 1 1, P-2 pending 1 1 1, P-3 pending 1 1 1',
	'each SpotGo item: pending, attempts 1, retry in the future, last_error about the uuid');
note 'last_error: ' . $node->safe_psql('postgres',
	"SELECT last_error FROM spotgo_gss.outbox WHERE object_key = 'P-1'");
ok(wait_for_query($node,
	"SELECT state || ' ' || last_status FROM spotgo_gss.outbox WHERE object_key = 'P-GSS'",
	'done 200'),
	'the GSS item of the same batch is delivered');
is(scalar(grep { $_->{method} eq 'PUT' } @{ sandbox_journal($sb, '/api/customerorders') }),
	1, 'the GSS item was PUT once');
is($node->safe_psql('postgres', 'SELECT count(*) FROM spotgo_gss.spotgo_order_ids'),
	'0', 'no orderId was learned');

# until the first retry is due (a back-off of at least 1.5 s after the first
# attempt), the worker's rounds (every 200 ms) send nothing: after three
# rounds, still well before that, count (a fixed wait: it measures that
# nothing happens), then make sure the earliest retry was still not due
cmp_ok($due_in, '>', 0.3, 'the first retry is due in more than 0.3 s');
my $wait = $due_time - 0.9 - time;
$wait = 0.6 if $wait > 0.6;
usleep(int($wait * 1_000_000)) if $wait > 0;
my $before_retry = upserts();
is($node->safe_psql('postgres', "SELECT clock_timestamp() < '$due_at'"),
	't', 'the count below was taken before the first retry was due');
is($before_retry, 3, 'until the retry is due, the journal shows exactly 3 upserts (one per item)');

# the retry: one more POST per item, attempts 2
ok(wait_for_query($node, q{SELECT count(*) FROM spotgo_gss.outbox
  WHERE object_key LIKE 'P-_' AND state = 'pending' AND attempts = 2 AND claimed_by IS NULL},
	'3', 30),
	'the second attempt fails the same way: attempts 2, still pending');
is(upserts(), 6, 'after two attempts the journal shows 6 upserts: one per attempt');

$node->stop;
stop_sandbox($sb);

done_testing();
