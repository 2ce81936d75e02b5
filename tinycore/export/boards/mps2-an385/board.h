/* mps2-an385: see tc_board_mps2.h. */
#define TC_BOARD_NAME "mps2-an385"
#include "tc_board_mps2.h"
