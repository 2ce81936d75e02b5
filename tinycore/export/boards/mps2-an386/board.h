/* mps2-an386: see tc_board_mps2.h. */
#define TC_BOARD_NAME "mps2-an386"
#include "tc_board_mps2.h"
