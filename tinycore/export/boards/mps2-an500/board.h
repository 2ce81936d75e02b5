/* mps2-an500: see tc_board_mps2.h. */
#define TC_BOARD_NAME "mps2-an500"
#include "tc_board_mps2.h"
