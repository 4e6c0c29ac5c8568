# Copyright (c) spotgo_gss contributors

# 015_odbc_bi.pl: a BI tool's view of the foreign tables, through ODBC.
#
# BI tools (Power BI, Tableau, Excel and many others through ODBC) browse a
# database with SQLTables and SQLColumns and then send queries.  A small C
# client (test/odbc/bi_client.c, compiled here against unixODBC) does the
# same through Debian's psqlODBC driver ("PostgreSQL Unicode"): the tables
# IMPORT FOREIGN SCHEMA made are listed as FOREIGN TABLE next to a view over
# them, their columns with their types, and a query with a LIMIT reads rows
# that came from the sandbox API, which received one request for a page of
# that size.  Skipped when unixODBC's headers or the driver are missing
# (scripts/test installs unixodbc-dev and odbc-postgresql).

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;

my $driver = 'PostgreSQL Unicode';
my $cc = $ENV{CC} // 'cc';
plan skip_all => 'unixODBC headers are not installed (unixodbc-dev)' unless -e '/usr/include/sql.h';
my $drivers = `odbcinst -q -d 2>/dev/null` // '';
plan skip_all => "the ODBC driver \"$driver\" is not registered (odbc-postgresql)"
  unless $drivers =~ /\[\Q$driver\E\]/;

# the client
my $client = "$PostgreSQL::Test::Utils::tmp_check/bi_client";
my ($out, $err) = ('', '');
my $built = IPC::Run::run([ $cc, '-o', $client, repo_root() . '/test/odbc/bi_client.c', '-lodbc' ],
	'>', \$out, '2>', \$err);
ok($built, 'the ODBC client compiles against unixODBC') or diag($err);

my $sb = start_sandbox();
sandbox_ctl($sb, 'gss/orders', { generate => { count => 3, prefix => 'BI' } });
sandbox_ctl($sb, 'spotgo/orders', { generate => { count => 2 } });

my $node = PostgreSQL::Test::Cluster->new('odbc');
$node->init;
$node->start;
setup_extension($node, $sb);
$node->safe_psql('postgres', q{
CREATE SCHEMA bi;
IMPORT FOREIGN SCHEMA gss FROM SERVER gss INTO bi;
IMPORT FOREIGN SCHEMA spotgo FROM SERVER spotgo INTO bi;
CREATE VIEW bi.open_orders AS SELECT packingslipno, consignee, city FROM bi.customer_orders WHERE status IS NULL;
});
sandbox_ctl($sb, 'journal/clear', {});

my $user = getpwuid($<);
my $conn = "Driver={$driver};Servername=" . $node->host . ';Port=' . $node->port
  . ";Database=postgres;UID=$user";
($out, $err) = ('', '');
my $ran = IPC::Run::run(
	[ $client, $conn, 'bi', 'customer_orders',
		'SELECT packingslipno, city FROM bi.customer_orders LIMIT 2' ],
	'>', \$out, '2>', \$err);
ok($ran, 'the client connects, lists, describes and reads') or diag($err);

# SQLTables: the imported tables as foreign tables, the view as a view
like($out, qr/^table bi customer_orders FOREIGN TABLE$/m, 'SQLTables lists customer_orders as a FOREIGN TABLE');
like($out, qr/^table bi pending_orders FOREIGN TABLE$/m, 'SQLTables lists pending_orders');
like($out, qr/^table bi orders FOREIGN TABLE$/m, 'SQLTables lists the SpotGo orders');
like($out, qr/^table bi open_orders VIEW$/m, 'SQLTables lists the view over them');

# SQLColumns: every column of the resource's type, with its type
my @columns = $out =~ /^column (\S+ \S+)$/mg;
is(scalar(@columns), 26, 'SQLColumns gives the 26 columns of customer_orders');
is($columns[0], 'packingslipno text', 'the first is packingslipno, text');
ok((grep { $_ eq 'picked timestamp' } @columns), 'picked is a timestamp');
ok((grep { $_ eq 'products jsonb' } @columns), 'products is jsonb');

# the rows, from the API, with the LIMIT sent along
my @rows = $out =~ /^row (.*)$/mg;
is_deeply(\@rows, [ 'BI00001|New Plymouth', 'BI00002|Hamilton' ], 'the query reads the orders of the API');
my @requests = map { $_->{query} } @{ sandbox_journal($sb, '/api/customerorders') };
is_deeply(\@requests, ['page=1&pagesize=2'], 'one request, for a page of the LIMIT\'s size');

$node->stop;
done_testing();
