#include <stdio.h>
int main(void) { puts("swmrbus: not built yet"); return 1; }
