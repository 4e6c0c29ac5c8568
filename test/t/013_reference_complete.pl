# Copyright (c) spotgo_gss contributors

# 013_reference_complete.pl: doc/reference.md documents everything the
# extension installs.
#
# A preloaded cluster (so that every GUC exists) creates the extension; the
# catalogs then say what the reference must cover:
#   * every function (pg_depend on the extension): a signature entry, that is
#     a line starting "name(" in a plain ``` block (continuation lines
#     indented), stating "RETURNS <the function's result>" and naming each of
#     its input arguments; and no signature entry for a function the
#     extension does not have;
#   * every composite type, table and view, with each of its columns, in
#     backquotes;
#   * every option the validator accepts for servers, user mappings, foreign
#     tables and their columns (read from the HINT of an invalid option);
#   * every GUC of the spotgo_gss. prefix, as a row of the parameter table;
#   * once the wrapper has a handler: every foreign table that IMPORT
#     FOREIGN SCHEMA gss and spotgo create, and its resource option.
# Each check is one assertion listing what is missing.  No API is called.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil qw(repo_root);
use Test::More;

my $ref_file = repo_root() . '/doc/reference.md';
my $ref = slurp_file($ref_file);

# the signature entries: name => text (the entry's lines joined)
my %entries;
{
	my ($in_plain, $in_block, $name) = (0, 0, undef);
	foreach my $line (split /\n/, $ref)
	{
		if ($line =~ /^```(\S*)/)
		{
			$in_plain = !$in_block && $1 eq '';
			$in_block = !$in_block;
			$name = undef;
			next;
		}
		next unless $in_plain;
		if ($line =~ /^(?:spotgo_gss\.)?([a-z_][a-z0-9_]*)\(/)
		{
			$name = $1;
			$entries{$name} .= "$line\n";
		}
		elsif (defined $name && $line =~ /^\s+\S/)
		{
			$entries{$name} .= "$line\n";
		}
		else
		{
			$name = undef;
		}
	}
}

# a type or result as text, comparable between the catalogs and the page
sub norm
{
	my ($s) = @_;
	$s =~ s/spotgo_gss\.//g;
	$s =~ s/timestamp with time zone/timestamptz/g;
	$s =~ s/\binteger\b/int/g;
	$s =~ s/\s+//g;
	return $s;
}

# whether the page mentions $name in backquotes (optionally schema-qualified
# or double-quoted)
sub mentioned
{
	my ($name) = @_;
	return $ref =~ /`(?:spotgo_gss\.)?"?\Q$name\E"?`/;
}

my $node = PostgreSQL::Test::Cluster->new('reference_complete');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'postgres'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION spotgo_gss');

my $ext_objects = q{
  JOIN pg_depend d ON d.objid = o.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'spotgo_gss'};

# ---------------------------------------------------------------------------
# functions

my @functions = map { [ split /\|/, $_, -1 ] } split /\n/, $node->safe_psql('postgres', qq{
SELECT o.proname, o.prokind, coalesce(pg_get_function_result(o.oid), ''),
       coalesce((SELECT string_agg(a.n, ',' ORDER BY a.i)
                   FROM unnest(o.proargnames) WITH ORDINALITY AS a(n, i)
                  WHERE a.n <> '' AND (o.proargmodes IS NULL OR o.proargmodes[a.i] IN ('i', 'b', 'v'))), '')
  FROM pg_proc o $ext_objects AND d.classid = 'pg_proc'::regclass
 ORDER BY 1});
cmp_ok(scalar(@functions), '>=', 30, scalar(@functions) . ' functions in the extension');

my (@no_entry, @wrong_result, @missing_args);
foreach my $f (@functions)
{
	my ($name, $kind, $result, $args) = @$f;
	my $entry = $entries{$name};
	if (!defined $entry)
	{
		push @no_entry, $name;
		next;
	}
	if ($kind ne 'p')
	{
		my $want = norm($result);
		push @wrong_result, "$name (RETURNS $result)"
		  unless norm($entry) =~ /RETURNS\Q$want\E(?![A-Za-z0-9_\[])/;
	}
	foreach my $arg (grep { $_ ne '' } split /,/, $args)
	{
		push @missing_args, "$name($arg)" unless $entry =~ /\b\Q$arg\E\b/;
	}
}
is_deeply(\@no_entry, [], 'every function has a signature entry in doc/reference.md')
  or diag 'missing: ' . join(', ', @no_entry);
is_deeply(\@wrong_result, [], 'every signature entry states the function\'s result')
  or diag 'wrong or missing RETURNS: ' . join('; ', @wrong_result);
is_deeply(\@missing_args, [], 'every signature entry names the function\'s arguments')
  or diag 'missing arguments: ' . join(', ', @missing_args);

my %is_function = map { $_->[0] => 1 } @functions;
my @stale = sort grep { !$is_function{$_} } keys %entries;
is_deeply(\@stale, [], 'every signature entry is a function of the extension')
  or diag 'not in the extension: ' . join(', ', @stale);

# ---------------------------------------------------------------------------
# types, tables and views, with their columns

my @relations = map { [ split /\|/, $_, -1 ] } split /\n/, $node->safe_psql('postgres', qq{
SELECT c.relname, string_agg(a.attname, ',' ORDER BY a.attnum)
  FROM (SELECT o.oid FROM pg_class o $ext_objects AND d.classid = 'pg_class'::regclass
         WHERE o.relkind IN ('r', 'v', 'f', 'p', 'm')
        UNION ALL
        SELECT o.typrelid FROM pg_type o $ext_objects AND d.classid = 'pg_type'::regclass
         WHERE o.typtype = 'c') AS x
  JOIN pg_class c ON c.oid = x.oid
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 GROUP BY c.relname
 ORDER BY 1});
cmp_ok(scalar(@relations), '>=', 9, scalar(@relations) . ' types, tables and views in the extension');
my @undocumented;
foreach my $r (@relations)
{
	my ($name, $columns) = @$r;
	push @undocumented, $name unless mentioned($name);
	push @undocumented, map { "$name.$_" } grep { !mentioned($_) } split /,/, $columns;
}
is_deeply(\@undocumented, [], 'every type, table and view is in doc/reference.md with its columns')
  or diag 'missing: ' . join(', ', @undocumented);

# ---------------------------------------------------------------------------
# options: what the validator accepts, from its hint for an invalid one

$node->safe_psql('postgres', q{
CREATE SERVER t013_gss FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'gss', site_id '1');
CREATE SERVER t013_spotgo FOREIGN DATA WRAPPER spotgo_gss OPTIONS (api 'spotgo');
CREATE USER MAPPING FOR CURRENT_USER SERVER t013_gss OPTIONS (access_key 'k');
CREATE USER MAPPING FOR CURRENT_USER SERVER t013_spotgo OPTIONS (api_key 'k');
});

# the options the hint of an invalid option lists for statement $sql
sub valid_options
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', $sql);
	return undef unless $rc != 0 && $err =~ /Valid options in this context are: ([^\n]*)/;
	my $list = $1;
	return [] if $list eq '(none)';
	return [ split /,\s*/, $list ];
}

my %contexts = (
	'server' => q{CREATE SERVER t013_probe FOREIGN DATA WRAPPER spotgo_gss OPTIONS (t013_no_such_option 'x')},
	'user mapping' => q{CREATE USER MAPPING FOR PUBLIC SERVER t013_gss OPTIONS (t013_no_such_option 'x')},
	'foreign table' => q{CREATE FOREIGN TABLE t013_probe (a int) SERVER t013_gss OPTIONS (t013_no_such_option 'x')},
	# (a table needs its resource, so that the column's option is what is refused)
	'foreign-table column' => q{CREATE FOREIGN TABLE t013_probe (a int OPTIONS (t013_no_such_option 'x')) SERVER t013_gss OPTIONS (resource 'gss.customer_orders')});
my (@no_hint, @missing_options);
foreach my $context (sort keys %contexts)
{
	my $options = valid_options($contexts{$context});
	if (!defined $options)
	{
		push @no_hint, $context;
		next;
	}
	push @no_hint, "$context (empty list)"
	  if !@$options && ($context eq 'server' || $context eq 'user mapping');
	push @missing_options, map { "$context option $_" } grep { !mentioned($_) } @$options;
}
is_deeply(\@no_hint, [], 'an invalid option is refused with the list of valid ones, in each context')
  or diag 'no list of valid options: ' . join(', ', @no_hint);
is_deeply(\@missing_options, [], 'every option is in doc/reference.md')
  or diag 'missing: ' . join(', ', @missing_options);

# ---------------------------------------------------------------------------
# GUCs: a row of the parameter table each

my @gucs = split /\n/, $node->safe_psql('postgres',
	q{SELECT name FROM pg_settings WHERE name LIKE 'spotgo\_gss.%' ORDER BY 1});
cmp_ok(scalar(@gucs), '>=', 10, scalar(@gucs) . ' configuration parameters');
my @missing_gucs = grep { $ref !~ /^\| `\Q$_\E` \|/m } @gucs;
is_deeply(\@missing_gucs, [], 'every configuration parameter has a row in doc/reference.md')
  or diag 'missing: ' . join(', ', @missing_gucs);

# ---------------------------------------------------------------------------
# foreign tables, once the wrapper has a handler

SKIP:
{
	my $handler = $node->safe_psql('postgres',
		q{SELECT fdwhandler <> 0 FROM pg_foreign_data_wrapper WHERE fdwname = 'spotgo_gss'});
	skip 'the wrapper spotgo_gss has no handler yet: no foreign tables to check', 1
	  unless $handler eq 't';

	$node->safe_psql('postgres', q{
CREATE SCHEMA t013_import;
IMPORT FOREIGN SCHEMA gss FROM SERVER t013_gss INTO t013_import;
IMPORT FOREIGN SCHEMA spotgo FROM SERVER t013_spotgo INTO t013_import;
});
	my @tables = map { [ split /\|/, $_, -1 ] } split /\n/, $node->safe_psql('postgres', q{
SELECT c.relname,
       coalesce((SELECT option_value FROM pg_options_to_table(t.ftoptions)
                  WHERE option_name = 'resource'), '')
  FROM pg_foreign_table t JOIN pg_class c ON c.oid = t.ftrelid
 WHERE c.relnamespace = 't013_import'::regnamespace
 ORDER BY 1});
	my @missing_tables;
	push @missing_tables, 'IMPORT FOREIGN SCHEMA created no table' unless @tables;
	foreach my $t (@tables)
	{
		my ($name, $resource) = @$t;
		push @missing_tables, "table $name" unless mentioned($name);
		push @missing_tables, "resource $resource of $name"
		  unless $resource ne '' && mentioned($resource);
	}
	is_deeply(\@missing_tables, [],
		'every imported foreign table and its resource is in doc/reference.md')
	  or diag 'missing: ' . join(', ', @missing_tables);
}

$node->stop;
done_testing();
