/* stm32f412: see tc_board_stm32.h. */
#define TC_BOARD_NAME "stm32f412"
#include "tc_board_stm32.h"
