int summary_write(const char *dir, int R);
int summary_write(const char *dir, int R) { (void)dir; (void)R; return 0; }
