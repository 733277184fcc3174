/* placeholder */
int swmrbus__sim_placeholder(void);
int swmrbus__sim_placeholder(void) { return 0; }
