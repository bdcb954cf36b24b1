// `credwatch policy check` validates policy files; `credwatch policy recommend` writes the least-privilege policy
// an identity's recorded behaviour needs.
#include <cstdio>
#include <set>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "common/time.h"
#include "config/config.h"
#include "policy/policy_loader.h"
#include "policy/policy_writer.h"
#include "store/database.h"
#include "store/event_query.h"

namespace credwatch {

namespace {

// The kinds policies may name: the built-in catalog's, plus any the config file adds.
PolicyLoadOptions load_options(const std::string &config_path) {
  PolicyLoadOptions options;
  if (config_path.empty()) return options;
  Config config = load_config(config_path);
  std::set<std::string> kinds;
  for (const SecretCatalog &catalog : {config.secret_catalog(), SecretCatalog::builtin()})
    for (const auto &entry : catalog.entries()) kinds.insert(entry.kind);
  options.credential_kinds.assign(kinds.begin(), kinds.end());
  return options;
}

int run_check(const std::vector<std::string> &paths, const std::string &config_path) {
  PolicyLoadOptions options = load_options(config_path);
  int failed = 0;
  for (const auto &path : paths) {
    PolicyLoadResult result = load_policies(path, options);
    for (const auto &w : result.warnings) fprintf(stderr, "%s: warning: %s\n", w.position.str().c_str(), w.message.c_str());
    for (const auto &line : result.error_lines()) fprintf(stderr, "%s\n", line.c_str());
    if (!result.ok()) {
      fprintf(stderr, "%s: %zu error(s); not loadable\n", path.c_str(), result.errors.size());
      ++failed;
      continue;
    }
    const auto &set = *result.policies;
    const CredentialPolicy *fallback = set.default_policy();
    printf("%s: OK, %zu polic%s%s\n", path.c_str(), set.policies().size(), set.policies().size() == 1 ? "y" : "ies",
           fallback ? (" (default policy '" + fallback->name + "')").c_str() : " (no default policy)");
  }
  return failed ? 1 : 0;
}

struct RecommendArgs {
  std::string db;
  std::string identity;
  std::string since = "7d";
  std::string name;
  std::string credential_action = "alert";
  std::string egress_action = "alert";
};

// What the identity was seen doing: every credential it touched and every destination it connected to.
ObservedUsage observed_usage(Database &db, const std::string &identity, WallNs since) {
  EventFilter filter;
  filter.identity = identity;
  filter.since = since;
  filter.kinds = {"file_open", "env_exec", "env_read", "connect"};
  filter.limit = 0;
  ObservedUsage usage;
  std::set<std::tuple<std::string, std::string, std::string>> credentials;
  std::set<std::pair<std::string, uint16_t>> destinations;
  for (const auto &ev : query_events(db, filter)) {
    const auto &d = ev.details;
    if (ev.kind == "connect") {
      if (ev.result && *ev.result < 0 && *ev.result != -115) continue;  // refused connects are not needs (EINPROGRESS is)
      std::string address = d.value("address", "");
      if (address.empty()) continue;
      destinations.insert({address, static_cast<uint16_t>(d.value("port", 0))});
      continue;
    }
    if (ev.result && *ev.result < 0) continue;
    std::string kind = d.value("credential_kind", ev.catalog.value_or(""));
    if (ev.kind == "file_open" && ev.path) credentials.insert({kind, *ev.path, ""});
    if (ev.kind == "env_exec" || ev.kind == "env_read") credentials.insert({"", "", d.value("name", "")});
  }
  for (const auto &[kind, path, env] : credentials) usage.credentials.push_back({kind, path, env, ""});
  for (const auto &[address, port] : destinations) usage.destinations.push_back({address, port});
  return usage;
}

int run_recommend(const RecommendArgs &args) {
  Database db = Database::open_existing(resolve_db_path(args.db));
  WallNs now = wall_now_ns();
  WallNs since = parse_time_arg(args.since, now);
  ObservedUsage usage = observed_usage(db, args.identity, since);
  RecommendOptions options;
  options.name = args.name;
  options.credential_action = *policy_action_from_string(args.credential_action);
  options.egress_action = *policy_action_from_string(args.egress_action);
  options.note = "observed from " + format_rfc3339(since) + " to " + format_rfc3339(now) + ": " +
                 std::to_string(usage.credentials.size()) + " credential(s), " +
                 std::to_string(usage.destinations.size()) + " destination(s)";
  PolicySubject subject = PolicySubject::from_spiffe_id(args.identity);
  fputs(recommend_policy(subject, usage, options).c_str(), stdout);
  if (usage.credentials.empty() && usage.destinations.empty())
    fprintf(stderr, "note: no credential use or connection by %s since %s: the policy allows nothing\n",
            args.identity.c_str(), format_rfc3339(since).c_str());
  return 0;
}

void add_recommend_options(CLI::App *recommend) {
  auto args = std::make_shared<RecommendArgs>();
  recommend->add_option("--db", args->db, "Database path (default: $CREDWATCH_DB or /var/lib/credwatch/credwatch.db)");
  recommend->add_option("--identity", args->identity, "The identity's SPIFFE ID (exact)")->required();
  recommend->add_option("--since", args->since, "Observation window: a duration ago (7d) or RFC 3339")
      ->capture_default_str();
  recommend->add_option("--name", args->name, "metadata.name (default: derived from the identity)");
  recommend->add_option("--credential-action", args->credential_action, "alert, revoke or kill")
      ->capture_default_str()
      ->check(CLI::IsMember({"alert", "revoke", "kill"}));
  recommend->add_option("--egress-action", args->egress_action, "alert, revoke, kill or block")
      ->capture_default_str()
      ->check(CLI::IsMember({"alert", "revoke", "kill", "block"}));
  recommend->callback([args] { throw CLI::RuntimeError(run_recommend(*args)); });
}

}  // namespace

void add_policy_command(CLI::App &app) {
  auto *cmd = app.add_subcommand("policy", "Validate policies, or recommend one from recorded behaviour");
  cmd->require_subcommand(1);

  auto paths = std::make_shared<std::vector<std::string>>();
  auto config = std::make_shared<std::string>();
  auto *check = cmd->add_subcommand("check", "Validate policy files or directories; exit 1 on any error");
  check->add_option("paths", *paths, "Policy files or directories (*.yaml, *.yml)")->required();
  check->add_option("-c,--config", *config, "Agent config whose catalog kinds policies may also name")
      ->check(CLI::ExistingFile);
  check->callback([paths, config] { throw CLI::RuntimeError(run_check(*paths, *config)); });

  add_recommend_options(cmd->add_subcommand(
      "recommend", "Print the least-privilege CredentialPolicy for what an identity was seen to use"));
  // Also at the top level: `credwatch recommend`, as users of the report reach for it.
  add_recommend_options(app.add_subcommand("recommend", "Same as `credwatch policy recommend`"));
}

}  // namespace credwatch
