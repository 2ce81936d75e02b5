/* mps3-an547: see tc_board_mps3.h. */
#define TC_BOARD_NAME "mps3-an547"
#include "tc_board_mps3.h"
