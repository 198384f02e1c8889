/* test_csv: csv_read and its accessors (src/report/report.h) on small files written here: the
 * header, data rows with their 1-based line numbers, '#' comment and blank lines skipped, spaces
 * and CR trimmed, a last line without newline, NaN and inf cells; errors name path:line for a row
 * whose field count differs from the header's, a missing column, a cell that is not a number, a
 * missing file and a file without a header. The format has no quoting: a comma always separates. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "report/report.h"
#include "testing.h"

static char dir[64];

/* Writes text to dir/name; the path into out. */
static void write_text(char *out, size_t cap, const char *name, const char *text) {
  snprintf(out, cap, "%s/%s", dir, name);
  FILE *f = fopen(out, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    perror(out);
    exit(1);
  }
}

/* Error message of the last failure contains want (printed when it does not). */
static int error_has(const char *want) {
  const char *msg = oo_error_message();
  if (strstr(msg, want)) return 1;
  fprintf(stderr, "error message '%s' lacks '%s'\n", msg, want);
  return 0;
}

static void test_good_file(void) {
  char path[256];
  write_text(path, sizeof path, "good.csv",
             "# written by a test\n"
             "\n"
             "step, kl ,gold\r\n"
             "0,0,1.5\n"
             "# a comment between rows\n"
             "   \n"
             "1, 0.25 ,nan\n"
             "2,inf,-3e-2"); /* no newline at the end */
  csv_table t;
  EXPECT_OK(csv_read(&t, path));
  EXPECT(t.n_cols == 3 && t.n_rows == 3);
  if (t.n_cols != 3 || t.n_rows != 3) return;
  EXPECT(strcmp(t.names[0], "step") == 0 && strcmp(t.names[1], "kl") == 0 && strcmp(t.names[2], "gold") == 0);
  EXPECT(t.lines[0] == 4 && t.lines[1] == 7 && t.lines[2] == 8);
  int col = -1;
  EXPECT_OK(csv_col(&t, "gold", &col));
  EXPECT(col == 2);
  double v = 0;
  EXPECT_OK(csv_num(&t, 0, col, &v));
  EXPECT(v == 1.5);
  EXPECT_OK(csv_num(&t, 1, col, &v)); /* "nan" reads as NaN: missing evaluations are written so */
  EXPECT(isnan(v));
  EXPECT_OK(csv_num(&t, 2, col, &v));
  EXPECT(v == -3e-2);
  EXPECT_OK(csv_num(&t, 1, 1, &v)); /* " 0.25 ": spaces around a cell are trimmed */
  EXPECT(v == 0.25);
  EXPECT_OK(csv_num(&t, 2, 1, &v));
  EXPECT(isinf(v) && v > 0);
  EXPECT(strcmp(csv_cell(&t, 2, 0), "2") == 0);

  EXPECT(csv_col(&t, "proxy", &col) != 0);
  EXPECT(error_has("good.csv:3: no column 'proxy'") && error_has("step,kl,gold"));
  csv_free(&t);
  EXPECT(t.n_rows == 0 && t.names == NULL && t.buf == NULL);
}

static void test_header_only_and_empty_cells(void) {
  char path[256];
  write_text(path, sizeof path, "header_only.csv", "a,b\n");
  csv_table t;
  EXPECT_OK(csv_read(&t, path));
  EXPECT(t.n_cols == 2 && t.n_rows == 0);
  csv_free(&t);

  /* An empty cell is a field (the count matches) but not a number. */
  write_text(path, sizeof path, "empty_cell.csv", "a,b\n1,\n");
  EXPECT_OK(csv_read(&t, path));
  EXPECT(t.n_rows == 1 && strcmp(csv_cell(&t, 0, 1), "") == 0);
  double v = 0;
  EXPECT(csv_num(&t, 0, 1, &v) != 0);
  EXPECT(error_has("empty_cell.csv:2: column 'b'") && error_has("is not a number"));
  csv_free(&t);

  write_text(path, sizeof path, "not_number.csv", "a,b\n# c\n1,2x\n");
  EXPECT_OK(csv_read(&t, path));
  EXPECT(csv_num(&t, 0, 1, &v) != 0);
  EXPECT(error_has("not_number.csv:3: column 'b': '2x' is not a number"));
  csv_free(&t);
}

static void test_field_count_errors(void) {
  char path[256];
  csv_table t;
  /* Too many fields on line 5 (after a comment line and a blank line); the header is on line 2. */
  write_text(path, sizeof path, "long_row.csv", "# c\nx,y\n1,2\n\n3,4,5\n6,7\n");
  EXPECT(csv_read(&t, path) != 0);
  EXPECT(error_has("long_row.csv:5: 3 fields, but the header (line 2) has 2"));
  EXPECT(t.names == NULL && t.cells == NULL && t.buf == NULL); /* freed on error */
  /* Too few: a quoted field is not one field (no quoting in this format). */
  write_text(path, sizeof path, "short_row.csv", "x,y,z\n1,2,3\n4,5\n");
  EXPECT(csv_read(&t, path) != 0);
  EXPECT(error_has("short_row.csv:3: 2 fields, but the header (line 1) has 3"));
  write_text(path, sizeof path, "quoted.csv", "x,y\n\"a,b\",1\n");
  EXPECT(csv_read(&t, path) != 0);
  EXPECT(error_has("quoted.csv:2: 3 fields"));
}

static void test_missing_and_empty(void) {
  char path[256];
  csv_table t;
  snprintf(path, sizeof path, "%s/absent.csv", dir);
  EXPECT(csv_read(&t, path) != 0);
  EXPECT(error_has("absent.csv"));
  write_text(path, sizeof path, "empty.csv", "");
  EXPECT(csv_read(&t, path) != 0);
  EXPECT(error_has("empty.csv: empty file (no header line)"));
  write_text(path, sizeof path, "comments.csv", "# only\n\n# comments\n");
  EXPECT(csv_read(&t, path) != 0);
  EXPECT(error_has("comments.csv: empty file (no header line)"));
}

/* More rows than the reader's first allocation (64): it grows and keeps every line number. */
static void test_many_rows(void) {
  char path[256];
  snprintf(path, sizeof path, "%s/many.csv", dir);
  FILE *f = fopen(path, "w");
  if (!f) return;
  fprintf(f, "i,sq\n");
  for (int i = 0; i < 1000; i++) fprintf(f, "%d,%d\n", i, i * i);
  fclose(f);
  csv_table t;
  EXPECT_OK(csv_read(&t, path));
  EXPECT(t.n_rows == 1000);
  int bad = 0;
  for (int r = 0; r < t.n_rows; r++) {
    double a = -1, b = -1;
    if (csv_num(&t, r, 0, &a) || csv_num(&t, r, 1, &b) || a != r || b != (double)r * r || t.lines[r] != r + 2) bad++;
  }
  EXPECT_MSG(bad == 0, "%d of 1000 rows read back wrong", bad);
  csv_free(&t);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/oo_csv_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  long live = oo_mem_live_blocks();
  test_good_file();
  test_header_only_and_empty_cells();
  test_field_count_errors();
  test_missing_and_empty();
  test_many_rows();
  EXPECT_MSG(oo_mem_live_blocks() == live, "%ld blocks leaked", oo_mem_live_blocks() - live);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return TEST_SUMMARY();
}
