/* test_config: the config schema, loader, --set, writer, reference and hashes.
 *
 * Bad configs live in tests/config_bad/; for each, the expected message must contain the
 * file's path, the line of the offending setting (found by searching the file for a marker,
 * so editing a comment does not silently break the check), and the expected text.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "io/config.h"
#include "testing.h"

#define SRC OVEROPT_SOURCE_DIR

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  fputs(text, f);
  fclose(f);
}

/* Line (1-based) of the first line of path containing marker, 0 if none. */
static int line_of(const char *path, const char *marker) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char buf[1024];
  int line = 0, found = 0;
  while (fgets(buf, sizeof buf, f)) {
    line++;
    if (strstr(buf, marker)) {
      found = line;
      break;
    }
  }
  fclose(f);
  return found;
}

/* Writes cfg, loads it back and checks the struct is byte-identical. */
static void check_round_trip(const oo_config *cfg, const char *what) {
  char path[256];
  snprintf(path, sizeof path, "roundtrip_%s.cfg", what);
  FILE *f = fopen(path, "w");
  EXPECT(f != NULL);
  if (!f) return;
  EXPECT_OK(cfg_write(cfg, f));
  fclose(f);
  oo_config *back = xmalloc(sizeof *back);
  EXPECT_OK(cfg_load(back, path));
  EXPECT_MSG(memcmp(cfg, back, sizeof *cfg) == 0, "round trip of %s changed the config", what);
  /* cfg_to_string is the same text as cfg_write */
  char *s = cfg_to_string(cfg);
  FILE *g = fopen(path, "r");
  char *text = xcalloc(1, 65536);
  size_t n = g ? fread(text, 1, 65535, g) : 0;
  if (g) fclose(g);
  EXPECT_MSG(n > 0 && strcmp(s, text) == 0, "cfg_to_string differs from cfg_write for %s", what);
  xfree(&text);
  xfree(&s);
  xfree(&back);
}

static void test_defaults(void) {
  oo_config c;
  cfg_defaults(&c);
  EXPECT_OK(cfg_validate(&c, "defaults"));
  EXPECT(!strcmp(c.run.name, "quickstart"));
  EXPECT(c.run.world_seed == 1234 && c.run.seed == 1 && c.run.replicates == 1 && c.run.threads == 1);
  EXPECT(!strcmp(c.corpus.delimiter, "percent"));
  EXPECT(c.pretrain.n_ctx == 96 && c.pretrain.policy.d_model == 128 && c.pretrain.policy.n_head == 4);
  EXPECT_NEAR(c.pretrain.lr, 3e-3, 0);
  EXPECT(c.rm.k == 5 && c.rm.size.d_model == 64 && c.rm.size.n_layer == 2);
  EXPECT_NEAR(c.prefs.noise, 0.25, 0);
  EXPECT(c.bon.n_samples == 512 && c.bon.n_uwo_lambda == 1);
  EXPECT_NEAR(c.bon.uwo_lambda[0], 0.5, 0);
  EXPECT(c.ppo.n_objectives == 4 && !strcmp(c.ppo.objectives[0], "single") && !strcmp(c.ppo.objectives[3], "uwo"));
  EXPECT(c.ppo.n_betas == 1);
  EXPECT_NEAR(c.ppo.betas[0], 0.0, 0); /* no KL penalty in the quickstart (README) */
  EXPECT(!strcmp(c.ppo.kl_estimator, "k1") && c.sweep.n_axes == 0 && c.slurm.ntasks == 2);
  char name[32];
  cfg_size_name(&c.rm.size, name, sizeof name);
  EXPECT_MSG(!strcmp(name, "d64L2H4"), "size name %s", name);
  cfg_size_name(&c.pretrain.policy, name, sizeof name);
  EXPECT_MSG(!strcmp(name, "d128L4H4"), "size name %s", name);
}

static void test_shipped_configs(void) {
  oo_config def, q, p;
  cfg_defaults(&def);
  EXPECT_OK(cfg_load(&q, SRC "/configs/quickstart.cfg"));
  /* the quickstart is the default config: the file spells out the built-in defaults, except that
   * it runs 3 replicates (run.replicates defaults to 1: one run of a user's own config) */
  EXPECT(q.run.replicates == 3);
  oo_config q1 = q;
  q1.run.replicates = def.run.replicates;
  EXPECT_MSG(memcmp(&def, &q1, sizeof q1) == 0, "configs/quickstart.cfg differs from the schema defaults");
  EXPECT_OK(cfg_load(&p, SRC "/configs/paper-scale.cfg"));
  EXPECT(p.rm.k == 5 && p.bon.n_samples == 12600 && p.prefs.n_train > q.prefs.n_train);
  EXPECT_NEAR(p.prefs.noise, 0.25, 0);
  EXPECT(p.pretrain.policy.d_model > q.pretrain.policy.d_model && p.rm.size.d_model > q.rm.size.d_model);
  check_round_trip(&def, "defaults");
  check_round_trip(&q, "quickstart");
  check_round_trip(&p, "paper");
}

typedef struct {
  const char *file;   /* in tests/config_bad/ */
  const char *marker; /* text on the offending line; NULL: a cross-key error without a line */
  const char *expect; /* text the message must contain */
} bad_case;

static void test_bad_files(void) {
  const bad_case cases[] = {
      {"unknown_key.cfg", "sizee", "unknown key 'rm.sizee' (did you mean 'rm.size'?)"},
      {"top_level_unknown.cfg", "rmm", "unknown key 'rmm' (did you mean 'rm'?)"},
      {"out_of_range.cfg", "k = 100", "'rm.k' = 100 is out of range: accepted 1 .. 64"},
      {"out_of_range_float.cfg", "0.75", "'prefs.noise' = 0.75 is out of range: accepted 0.0 .. 0.5"},
      {"wrong_type.cfg", "\"fast\"", "wrong type for 'pretrain.lr': expected float, got string \"fast\""},
      {"wrong_type_int.cfg", "2.5", "wrong type for 'rm.k': expected int, got float 2.5"},
      {"group_type.cfg", "rm = 5", "wrong type for 'rm': expected a group rm = { ... };, got int 5"},
      {"bad_enum.cfg", "zscor",
       "'rm.normalize' = \"zscor\" is not accepted: accepted values are center, zscore (did you mean 'zscore'?)"},
      {"bad_list.cfg", "wcoo", "'ppo.objectives[1]' = \"wcoo\" is not accepted"},
      {"bad_list.cfg", "wcoo", "(did you mean 'wco'?)"},
      {"syntax.cfg", "k = ;", "syntax error"},
      {"int64.cfg", "4294967344", "'pretrain.n_ctx' = 4294967344 is out of range: accepted 16 .. 1024"},
      {"heads.cfg", NULL, "'rm.size.n_head' (" SRC "/tests/config_bad/heads.cfg:2) = 3 does not divide 'rm.size.d_model' ("
       SRC "/tests/config_bad/heads.cfg:2) = 64"},
      {"ctx.cfg", NULL, "'prefs.prompt_len' (default) + 'prefs.response_len' (" SRC
       "/tests/config_bad/ctx.cfg:2) + 2 = 114 exceeds 'pretrain.n_ctx' (default) = 96"},
      {"minibatch.cfg", NULL, "'ppo.minibatch' (" SRC "/tests/config_bad/minibatch.cfg:2) = 5 does not divide 'ppo.batch' ("
       SRC "/tests/config_bad/minibatch.cfg:2) = 32"},
      {"member.cfg", NULL, "'ppo.member' (" SRC "/tests/config_bad/member.cfg:3) = 5 must be below 'rm.k' (" SRC
       "/tests/config_bad/member.cfg:2) = 5"},
      {"checkpoint.cfg", NULL, "'gold.kind' (" SRC "/tests/config_bad/checkpoint.cfg:2) = \"checkpoint\" requires 'gold.checkpoint' (default)"},
      {"sweep_bad_key.cfg", "d_modl", "unknown key 'rm.size.d_modl' (did you mean 'rm.size.d_model'?)"},
      {"sweep_bad_value.cfg", "0.75",
       "sweep axis 'prefs.noise', value 0.75: 'prefs.noise' = 0.75 is out of range: accepted 0.0 .. 0.5"},
      {"sweep_bad_point.cfg", NULL,
       "sweep point (rm.size.d_model=30) is invalid: 'rm.size.n_head' (default) = 4 does not divide 'rm.size.d_model' ("
       SRC "/tests/config_bad/sweep_bad_point.cfg:3) = 30"},
      {"sweep_bad_field.cfg", "vals", "unknown key 'sweep.axes[0].vals' (an axis has 'key' and 'values')"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[1024], where[1100];
    snprintf(path, sizeof path, "%s/tests/config_bad/%s", SRC, cases[i].file);
    if (cases[i].marker) {
      int line = line_of(path, cases[i].marker);
      EXPECT_MSG(line > 0, "marker '%s' not found in %s", cases[i].marker, path);
      snprintf(where, sizeof where, "%s:%d: ", path, line);
    } else {
      snprintf(where, sizeof where, "%s: ", path);
    }
    oo_config c;
    oo_error_clear();
    int rc = cfg_load(&c, path);
    const char *msg = oo_error_message();
    EXPECT_MSG(rc != 0, "%s loaded without error", cases[i].file);
    EXPECT_MSG(contains(msg, where), "%s: message lacks '%s':\n%s", cases[i].file, where, msg);
    EXPECT_MSG(contains(msg, cases[i].expect), "%s: message lacks \"%s\":\n%s", cases[i].file, cases[i].expect, msg);
    printf("%-24s -> %.*s\n", cases[i].file, (int)strcspn(msg, "\n"), msg);
  }
  oo_config c;
  EXPECT(cfg_load(&c, "no/such/config.cfg") != 0);
  EXPECT_MSG(contains(oo_error_message(), "cannot read config file 'no/such/config.cfg'"), "%s", oo_error_message());
}

static void test_set(void) {
  oo_config c, before;
  cfg_defaults(&c);
  EXPECT_OK(cfg_set(&c, "rm.k=3"));
  EXPECT(c.rm.k == 3);
  EXPECT_OK(cfg_set(&c, " rm.size.d_model = 128 "));
  EXPECT(c.rm.size.d_model == 128);
  EXPECT_OK(cfg_set(&c, "pretrain.lr=1")); /* an integer for a float key */
  EXPECT_NEAR(c.pretrain.lr, 1.0, 0);
  EXPECT_OK(cfg_set(&c, "ppo.betas=[0.01, 0.1]"));
  EXPECT(c.ppo.n_betas == 2);
  EXPECT_NEAR(c.ppo.betas[1], 0.1, 0);
  EXPECT_OK(cfg_set(&c, "ppo.betas=0.5,0.25,0"));
  EXPECT(c.ppo.n_betas == 3 && c.ppo.betas[2] == 0.0 && c.ppo.betas[1] == 0.25);
  EXPECT_OK(cfg_set(&c, "ppo.objectives=wco,uwo"));
  EXPECT(c.ppo.n_objectives == 2 && !strcmp(c.ppo.objectives[1], "uwo") && c.ppo.objectives[2][0] == 0);
  EXPECT_OK(cfg_set(&c, "run.name=\"my run\""));
  EXPECT(!strcmp(c.run.name, "my run"));
  EXPECT_OK(cfg_set(&c, "rm.normalize=center"));
  EXPECT(!strcmp(c.rm.normalize, "center"));
  EXPECT_OK(cfg_validate(&c, "--set"));

  const struct {
    const char *set, *expect;
  } bad[] = {
      {"rm.k=abc", "--set 'rm.k=abc': wrong type for 'rm.k': expected int, got string \"abc\""},
      {"rm.k=2.5", "wrong type for 'rm.k': expected int, got float 2.5"},
      {"rm.k=0", "'rm.k' = 0 is out of range: accepted 1 .. 64"},
      {"prefs.top_p=0", "'prefs.top_p' = 0.0 is out of range: accepted > 0.0 .. 1.0"},
      {"rm.kk=3", "unknown key 'rm.kk' (did you mean 'rm.k'?)"},
      {"rm.size=3", "'rm.size' is a group of keys: set one of them, e.g. 'rm.size.d_model'"},
      {"rm.k", "expected key=value"},
      {"ppo.objectives=wco,bad", "'ppo.objectives[1]' = \"bad\" is not accepted"},
      {"ppo.betas=[]", "'ppo.betas' has 0 values: accepted 1 to 16 values"},
      {"ppo.betas=[0.1, 0.2, -1]", "'ppo.betas[2]' = -1.0 is out of range"},
      {"corpus.delimiter=comma", "accepted values are percent, blank"},
      {"sweep.axes=1", "'sweep.axes' can only be set in a config file"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memcpy(&before, &c, sizeof c);
    oo_error_clear();
    EXPECT_MSG(cfg_set(&c, bad[i].set) != 0, "--set %s was accepted", bad[i].set);
    EXPECT_MSG(contains(oo_error_message(), bad[i].expect), "--set %s: message lacks \"%s\":\n%s", bad[i].set,
               bad[i].expect, oo_error_message());
    EXPECT_MSG(memcmp(&before, &c, sizeof c) == 0, "--set %s changed the config although it failed", bad[i].set);
  }

  /* exact round trip of doubles that have no short decimal form */
  EXPECT_OK(cfg_set(&c, "ppo.lr=0.30000000000000004"));
  EXPECT_OK(cfg_set(&c, "ppo.lr_final=1.2345678901234567e-7"));
  EXPECT_OK(cfg_set(&c, "run.name=quote\"back\\slash"));
  EXPECT_OK(cfg_set(&c, "slurm.extra=#SBATCH --mem=4G;#SBATCH --gres=gpu:1"));
  check_round_trip(&c, "set");
}

static void test_sweep(void) {
  write_file("sweep_ok.cfg",
             "// integer literals for a float key, a list of mixed numbers and strings\n"
             "prefs = { noise = 0.1; };\n"
             "sweep = { axes = (\n"
             "  { key = \"rm.size.d_model\"; values = [32, 64, 128]; },\n"
             "  { key = \"prefs.noise\"; values = (0, 0.25); },\n"
             "  { key = \"ppo.objectives\"; values = [\"wco\", \"mean,uwo\"]; }\n"
             "); };\n");
  oo_config c;
  EXPECT_OK(cfg_load(&c, "sweep_ok.cfg"));
  EXPECT(c.sweep.n_axes == 3);
  EXPECT(!strcmp(c.sweep.axes[0].key, "rm.size.d_model") && c.sweep.axes[0].n_values == 3);
  EXPECT(!strcmp(c.sweep.axes[0].values[2], "128"));
  EXPECT_MSG(!strcmp(c.sweep.axes[1].values[0], "0.0"), "%s", c.sweep.axes[1].values[0]);
  EXPECT(!strcmp(c.sweep.axes[1].values[1], "0.25"));
  EXPECT(!strcmp(c.sweep.axes[2].values[1], "mean,uwo"));
  EXPECT_NEAR(c.prefs.noise, 0.1, 0); /* the base is not changed by its axes */
  /* each stored value applies with cfg_set */
  for (int a = 0; a < c.sweep.n_axes; a++)
    for (int v = 0; v < c.sweep.axes[a].n_values; v++) {
      char set[200];
      oo_config pt = c;
      snprintf(set, sizeof set, "%s=%s", c.sweep.axes[a].key, c.sweep.axes[a].values[v]);
      EXPECT_OK(cfg_set(&pt, set));
    }
  check_round_trip(&c, "sweep");
  /* an override can make a sweep point invalid: cfg_validate checks every point */
  EXPECT_OK(cfg_set(&c, "rm.size.n_head=64"));
  oo_error_clear();
  EXPECT(cfg_validate(&c, "sweep_ok.cfg") != 0);
  EXPECT_MSG(contains(oo_error_message(), "sweep point (rm.size.d_model=32"), "%s", oo_error_message());

  write_file("sweep_dup.cfg", "sweep = { axes = ( { key = \"rm.k\"; values = [3, 3]; } ); };\n");
  EXPECT(cfg_load(&c, "sweep_dup.cfg") != 0);
  EXPECT_MSG(contains(oo_error_message(), "lists the value 3 twice"), "%s", oo_error_message());
  write_file("int_for_float.cfg", "pretrain = { lr = 1; };\nppo = { betas = 0.5; };\n");
  EXPECT_OK(cfg_load(&c, "int_for_float.cfg"));
  EXPECT(c.pretrain.lr == 1.0 && c.ppo.n_betas == 1 && c.ppo.betas[0] == 0.5);
}

static void test_hash(void) {
  oo_config a, b;
  cfg_defaults(&a);
  cfg_defaults(&b);
  const char *rm_keys[] = {"prefs.", "rm.", NULL};
  uint64_t h0 = cfg_hash(&a, rm_keys);
  EXPECT(h0 == cfg_hash(&b, rm_keys));
  EXPECT_OK(cfg_set(&b, "ppo.lr=0.5")); /* unrelated to the rm stage */
  EXPECT_OK(cfg_set(&b, "run.threads=4"));
  EXPECT(cfg_hash(&b, rm_keys) == h0);
  EXPECT_OK(cfg_set(&b, "rm.lr=0.5"));
  EXPECT(cfg_hash(&b, rm_keys) != h0);
  cfg_defaults(&b);
  EXPECT_OK(cfg_set(&b, "rm.size.n_layer=3"));
  EXPECT(cfg_hash(&b, rm_keys) != h0);
  cfg_defaults(&b);
  EXPECT_OK(cfg_set(&b, "prefs.noise=0.2"));
  EXPECT(cfg_hash(&b, rm_keys) != h0);
  EXPECT(cfg_hash(&a, NULL) != cfg_hash(&b, NULL));
  /* the hash is FNV-1a over "key = value\n" lines in schema order: recompute it by hand for
   * two keys to pin the definition (stable across runs and platforms) */
  const char *one[] = {"rm.k", "rm.lr", NULL};
  const char *text = "rm.k = 5\nrm.lr = 0.0001\n";
  uint64_t h = oo_hash_bytes("rm.k = 5\n", 9, 0);
  h = oo_hash_bytes("rm.lr = 0.0001\n", 15, h);
  EXPECT_MSG(cfg_hash(&a, one) == h, "cfg_hash is not FNV-1a of \"%s\"", text);
}

static void test_reference(void) {
  FILE *f = fopen("reference.md", "w+");
  EXPECT(f != NULL);
  if (!f) return;
  EXPECT_OK(cfg_reference(f));
  rewind(f);
  char *text = xcalloc(1, 1 << 16);
  size_t n = fread(text, 1, (1 << 16) - 1, f);
  fclose(f);
  EXPECT(n > 0);
  EXPECT(contains(text, "| key | type | default | accepted | description |"));
  EXPECT(contains(text, "| `rm.size.d_model` | int | `64` | 8 .. 4096 |"));
  EXPECT(contains(text, "| `prefs.top_p` | float | `1.0` | > 0.0 .. 1.0 |"));
  EXPECT(contains(text, "| `ppo.objectives` | list of strings | `[\"single\", \"mean\", \"wco\", \"uwo\"]` |"));
  EXPECT(contains(text, "| `sweep.axes` |"));
  /* every key of the resolved config appears in the reference */
  oo_config c;
  cfg_defaults(&c);
  char *cfgtext = cfg_to_string(&c);
  int rows = 0;
  for (const char *p = text; (p = strstr(p, "\n| `")); p++) rows++;
  int keys = 0;
  for (const char *p = cfgtext; (p = strstr(p, ";\n")); p++) keys++;
  int groups = 0;
  for (const char *p = cfgtext; (p = strstr(p, "};\n")); p++) groups++;
  EXPECT_MSG(rows == keys - groups, "reference has %d rows, config has %d keys", rows, keys - groups);
  xfree(&cfgtext);
  xfree(&text);
}

int main(void) {
  test_defaults();
  test_shipped_configs();
  test_bad_files();
  test_set();
  test_sweep();
  test_hash();
  test_reference();
  EXPECT(oo_mem_live_blocks() == 0);
  return TEST_SUMMARY();
}
