/* stm32f746: see tc_board_stm32.h. */
#define TC_BOARD_NAME "stm32f746"
#include "tc_board_stm32.h"
