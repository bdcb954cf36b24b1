// `credwatch credentials`: the credential inventory — fingerprints, descriptors, where each lives, who used it.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/glob.h"
#include "common/json_text.h"
#include "common/time.h"
#include "store/credential_query.h"
#include "store/database.h"

namespace credwatch {

namespace {

struct CredentialsArgs {
  std::string db;
  std::string id;
  std::string kind;
  std::string identity;
  std::string source;
  std::string since;
  std::string status;
  bool shared = false;
  size_t limit = 100;
  size_t identities = 50;
  bool identities_given = false;  // --identities on the command line: it then applies to --id too
  std::string format = "table";
};

std::string short_time(WallNs ns) { return format_rfc3339(ns).substr(0, 19); }

// "3 identities" reads badly in a narrow column: the only user's name, or a count of all of them (not only those
// listed).
std::string users_cell(const StoredCredential &c) {
  if (c.identity_count == 0 || c.users.empty()) return "-";
  if (c.identity_count == 1) return c.users.front().identity;
  return std::to_string(c.identity_count) + " identities";
}

std::string source_cell(const StoredCredential &c) {
  if (c.sources.empty()) return "-";
  std::string s = c.sources.front().source;
  if (c.sources.size() > 1) s += " (+" + std::to_string(c.sources.size() - 1) + ")";
  return s;
}

int run_credentials(const CredentialsArgs &args) {
  Database db = Database::open_existing(resolve_db_path(args.db));
  WallNs now = wall_now_ns();
  CredentialFilter filter;
  if (!args.id.empty()) filter.id = args.id;
  if (!args.kind.empty()) filter.kind = args.kind;
  if (!args.identity.empty()) filter.identity = args.identity;
  if (!args.source.empty()) filter.source = args.source;
  if (!args.since.empty()) filter.since = parse_time_arg(args.since, now);
  if (!args.status.empty()) filter.status = args.status;
  filter.shared = args.shared;
  filter.limit = args.limit;
  // A list shows each credential's most recent users; one credential named by its whole id shows them all (a prefix
  // or a glob may match thousands, and stays capped).
  bool one_credential = args.id.size() == 19 && args.id.starts_with("cw_") && !has_glob_chars(args.id);
  filter.max_users = one_credential && !args.identities_given ? 0 : args.identities;
  auto credentials = query_credentials(db, filter, now);

  if (args.format == "jsonl") {
    for (const auto &c : credentials) printf("%s\n", json_text(credential_to_json(c, now)).c_str());
    return 0;
  }
  if (args.format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto &c : credentials) arr.push_back(credential_to_json(c, now));
    printf("%s\n", json_text(arr, 2).c_str());
    return 0;
  }
  TextTable table({"CREDENTIAL", "KIND", "STATUS", "USED BY", "USES", "LAST USED", "EXPIRES", "SOURCE", "DESCRIPTOR"});
  for (const auto &c : credentials) {
    std::string status = c.status(now);
    // Shared credentials and expired ones are what a reader looks for first.
    std::string colour = c.identity_count > 1 ? "\033[31m" : status == "active" ? "" : "\033[33m";
    table.add_row({c.id, c.kind, status, users_cell(c), std::to_string(c.uses),
                   c.uses > 0 ? short_time(c.last_used_ns) : "never", c.expires_ns ? short_time(*c.expires_ns) : "-",
                   source_cell(c), summarize_descriptor(c.descriptor)},
                  colour);
  }
  table.print(stdout, stdout_wants_colour(), 60);
  if (credentials.empty()) fprintf(stderr, "no credentials match\n");
  return 0;
}

}  // namespace

void add_credentials_command(CLI::App &app) {
  auto args = std::make_shared<CredentialsArgs>();
  auto *cmd = app.add_subcommand(
      "credentials", "List credentials by fingerprint: descriptor, sources, identities that used them, rotations");
  cmd->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  cmd->add_option("--id", args->id, "Only this credential: its id, an id prefix, or a glob");
  cmd->add_option("--kind", args->kind, "Only credentials of this kind (glob), e.g. 'kubernetes*' or 'env_*'");
  cmd->add_option("--identity", args->identity, "Only credentials this identity used (glob)");
  cmd->add_option("--source", args->source, "Only credentials found at this path or <identity>:<VARIABLE> (glob)");
  cmd->add_option("--since", args->since, "Only credentials seen or used since: a duration ago (1h, 7d) or RFC 3339");
  cmd->add_option("--status", args->status, "Only active, rotated or expired credentials")
      ->check(CLI::IsMember({"active", "rotated", "expired"}));
  cmd->add_flag("--shared", args->shared, "Only credentials used by two or more identities");
  cmd->add_option("--limit", args->limit, "Show the N most recently used matching credentials (0: all)")
      ->capture_default_str()
      ->check(non_negative_count());
  auto *identities =
      cmd->add_option("--identities", args->identities,
                      "List each credential's N most recent identities (0: all; with a whole --id, all unless given)")
          ->capture_default_str()
          ->check(non_negative_count());
  cmd->add_option("--format", args->format, "table, json or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "jsonl"}));
  cmd->callback([args, identities] {
    args->identities_given = identities->count() > 0;
    throw CLI::RuntimeError(run_credentials(*args));
  });
}

}  // namespace credwatch
